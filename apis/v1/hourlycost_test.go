package v1

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMaxHourlyCost(t *testing.T) {
	for _, tc := range []struct {
		name       string
		annotation map[string]string
		want       float64
		set        bool
		err        string
	}{
		{name: "absent", annotation: nil},
		{name: "a decimal", annotation: map[string]string{AnnotationMaxHourlyCost: "12.50"}, want: 12.5, set: true},
		{name: "a whole number", annotation: map[string]string{AnnotationMaxHourlyCost: "3"}, want: 3, set: true},
		{name: "a currency symbol", annotation: map[string]string{AnnotationMaxHourlyCost: "$3"}, set: true, err: `"$3" is not a dollars-per-hour figure`},
		{name: "a negative figure", annotation: map[string]string{AnnotationMaxHourlyCost: "-1"}, set: true, err: "not a dollars-per-hour figure"},
		{name: "an exponent", annotation: map[string]string{AnnotationMaxHourlyCost: "1e3"}, set: true, err: "not a dollars-per-hour figure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool := NodePool{ObjectMeta: metav1.ObjectMeta{Name: "p", Annotations: tc.annotation}}
			got, set, err := pool.MaxHourlyCost()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				if errs := pool.RuntimeValidate(); len(errs) == 0 || !strings.Contains(errs.ToAggregate().Error(), AnnotationMaxHourlyCost) {
					t.Errorf("RuntimeValidate = %v, want an error naming the annotation", errs)
				}
				return
			}
			if err != nil || got != tc.want || set != tc.set {
				t.Errorf("MaxHourlyCost = %v, %v, %v; want %v, %v, nil", got, set, err, tc.want, tc.set)
			}
			if errs := pool.RuntimeValidate(); len(errs) != 0 {
				t.Errorf("RuntimeValidate = %v, want none", errs)
			}
		})
	}
}
