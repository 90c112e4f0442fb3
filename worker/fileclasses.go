package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nodewright/nodewright/activities/bootstrap"
	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	"github.com/nodewright/nodewright/worker/nodepools"
)

// fileClasses are the EC2NodeClasses of a --nodepools file, resolved at start and every
// nodepools.ResolveEvery after: with no API server there is no status to write, so what fails
// is logged, a class that stops resolving keeps its last answer, and one that never resolved
// is looked at again every retryEvery.
type fileClasses struct {
	resolver nodepools.Resolver
	log      *slog.Logger

	mu       sync.RWMutex
	classes  []awsv1.EC2NodeClass
	resolved map[string]*awsv1.EC2NodeClass
	at       map[string]time.Time // when each class last resolved
}

// retryEvery is how soon a class that has never resolved is looked at again.
const retryEvery = 15 * time.Second

// resolveFileClasses checks that nodes could boot from each class, refusing the file if not,
// and resolves each once; a class that does not resolve yet is logged and tried again.
func resolveFileClasses(ctx context.Context, r nodepools.Resolver, classes []awsv1.EC2NodeClass, log *slog.Logger) (*fileClasses, error) {
	var errs []error
	for i := range classes {
		c := &classes[i]
		if err := bootstrap.Check(c.Family(), c.Spec.Kubelet, c.Spec.UserData); err != nil {
			errs = append(errs, fmt.Errorf("EC2NodeClass %s: nodes could not boot from it: %w", c.Name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	f := &fileClasses{resolver: r, log: log, classes: classes, resolved: map[string]*awsv1.EC2NodeClass{}, at: map[string]time.Time{}}
	f.resolveDue(ctx, time.Now())
	return f, nil
}

// NodeClass returns the class as last resolved.
func (f *fileClasses) NodeClass(name string) (*awsv1.EC2NodeClass, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	class, ok := f.resolved[name]
	if !ok {
		return nil, false
	}
	return class.DeepCopy(), true
}

// Run looks the classes up again until ctx ends.
func (f *fileClasses) Run(ctx context.Context) error {
	tick := time.NewTicker(retryEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			f.resolveDue(ctx, now)
		}
	}
}

// resolveDue resolves the classes never resolved and those last resolved ResolveEvery ago.
func (f *fileClasses) resolveDue(ctx context.Context, now time.Time) {
	for i := range f.classes {
		c := &f.classes[i]
		f.mu.RLock()
		at, ok := f.at[c.Name]
		f.mu.RUnlock()
		if ok && now.Sub(at) < nodepools.ResolveEvery {
			continue
		}
		if err := f.resolve(ctx, c); err != nil && ctx.Err() == nil {
			f.log.Warn("EC2NodeClass lookup failed; its pools launch nothing until it resolves, or keep its last answer", "error", err)
		}
	}
}

func (f *fileClasses) resolve(ctx context.Context, class *awsv1.EC2NodeClass) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var errs []error
	next := class.DeepCopy()
	subnets, err := f.resolver.Subnets(ctx, class.Spec.SubnetSelectorTerms)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("subnets: %w", err))
	case len(subnets) == 0:
		errs = append(errs, errors.New("no subnet matches spec.subnetSelectorTerms"))
	}
	next.Status.Subnets = nil
	for _, s := range subnets {
		next.Status.Subnets = append(next.Status.Subnets, awsv1.Subnet{ID: s.ID, Zone: s.Zone, ZoneID: s.ZoneID})
	}
	groups, err := f.resolver.SecurityGroups(ctx, class.Spec.SecurityGroupSelectorTerms)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("security groups: %w", err))
	case len(groups) == 0:
		errs = append(errs, errors.New("no security group matches spec.securityGroupSelectorTerms"))
	}
	next.Status.SecurityGroups = nil
	for _, g := range groups {
		next.Status.SecurityGroups = append(next.Status.SecurityGroups, awsv1.SecurityGroup{ID: g.ID, Name: g.Name})
	}
	amis, err := f.resolver.AMIs(ctx, class.Spec.AMISelectorTerms)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("AMIs: %w", err))
	case len(amis) == 0:
		errs = append(errs, errors.New("no AMI matches spec.amiSelectorTerms"))
	}
	next.Status.AMIs = amis
	profile, err := f.resolver.InstanceProfile(ctx, class)
	if err != nil {
		errs = append(errs, fmt.Errorf("instance profile: %w", err))
	}
	next.Status.InstanceProfile = profile
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("EC2NodeClass %s: %w", class.Name, err)
	}
	f.mu.Lock()
	f.resolved[class.Name] = next
	f.at[class.Name] = time.Now()
	f.mu.Unlock()
	return nil
}
