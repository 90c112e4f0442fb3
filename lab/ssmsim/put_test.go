package ssmsim_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/nodewright/nodewright/lab/ssmsim"
)

func TestPutPublishesANewVersionThatClientsRead(t *testing.T) {
	now := modifiedAt
	sim, err := ssmsim.New(ssmsim.Options{Parameters: map[string]string{recommendedAL2023: "ami-old"}, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("build ssm sim: %v", err)
	}
	client := clientFor(t, sim)
	now = now.Add(time.Hour)
	for _, value := range []string{"ami-new", "ami-new"} {
		if err := sim.Put(recommendedAL2023, value); err != nil {
			t.Fatalf("put %s: %v", value, err)
		}
	}
	out, err := client.GetParameter(t.Context(), &ssm.GetParameterInput{Name: aws.String(recommendedAL2023)})
	if err != nil {
		t.Fatalf("get the recommended AMI: %v", err)
	}
	p := out.Parameter
	if aws.ToString(p.Value) != "ami-new" || p.Version != 3 || sim.Version(recommendedAL2023) != 3 {
		t.Errorf("after two puts the parameter reads %s at version %d (sim says %d), want ami-new at version 3 since every put adds a version",
			aws.ToString(p.Value), p.Version, sim.Version(recommendedAL2023))
	}
	if !p.LastModifiedDate.Equal(now) {
		t.Errorf("the new version was modified at %v, want the put's time %v", p.LastModifiedDate, now)
	}
}

func TestPutAndNewRefuseParametersSSMWouldRefuse(t *testing.T) {
	tests := []struct {
		name, parameter, value string
	}{
		{"an empty name", "", "v"},
		{"a path without its leading slash", "lab/ami", "v"},
		{"a name with a colon, which selectors own", "/lab/ami:1", "v"},
		{"an empty value", "/lab/ami", ""},
		{"a value over the standard tier's 4096 characters", "/lab/ami", strings.Repeat("v", 4097)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := newSim(t, nil).Put(tc.parameter, tc.value); err == nil {
				t.Errorf("put %q accepted", tc.parameter)
			}
			if _, err := ssmsim.New(ssmsim.Options{Parameters: map[string]string{tc.parameter: tc.value}}); err == nil {
				t.Errorf("new with parameter %q accepted", tc.parameter)
			}
		})
	}
}

// TestPutWhileClientsReadIsSafe is for the race detector: puts and gets on one parameter at once.
func TestPutWhileClientsReadIsSafe(t *testing.T) {
	sim := newSim(t, map[string]string{"/lab/ami": "ami-0"})
	client := clientFor(t, sim)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if err := sim.Put("/lab/ami", fmt.Sprintf("ami-%d", i+1)); err != nil {
				t.Errorf("put ami-%d: %v", i+1, err)
			}
		})
		wg.Go(func() {
			if _, err := client.GetParameter(t.Context(), &ssm.GetParameterInput{Name: aws.String("/lab/ami")}); err != nil {
				t.Errorf("get /lab/ami during puts: %v", err)
			}
		})
	}
	wg.Wait()
	if got := sim.Version("/lab/ami"); got != 21 {
		t.Errorf("after 20 puts the parameter is at version %d, want 21", got)
	}
}
