package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	"github.com/nodewright/nodewright/worker/nodepools"
)

// fileClasses are the EC2NodeClasses of a --nodepools file, resolved at start and every
// nodepools.ResolveEvery after: with no API server there is no status to write, so a class
// that stops resolving keeps its last answer and the failure is logged.
type fileClasses struct {
	resolver nodepools.Resolver
	log      *slog.Logger

	mu       sync.RWMutex
	resolved map[string]*awsv1.EC2NodeClass
}

// resolveFileClasses resolves every class once; a class that does not resolve stops the
// worker, naming the class and what failed.
func resolveFileClasses(ctx context.Context, r nodepools.Resolver, classes []awsv1.EC2NodeClass, log *slog.Logger) (*fileClasses, error) {
	f := &fileClasses{resolver: r, log: log, resolved: map[string]*awsv1.EC2NodeClass{}}
	var errs []error
	for i := range classes {
		if err := f.resolve(ctx, &classes[i]); err != nil {
			errs = append(errs, err)
		}
	}
	return f, errors.Join(errs...)
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

// Run looks the classes up again every nodepools.ResolveEvery until ctx ends.
func (f *fileClasses) Run(ctx context.Context) error {
	tick := time.NewTicker(nodepools.ResolveEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			f.mu.RLock()
			classes := make([]*awsv1.EC2NodeClass, 0, len(f.resolved))
			for _, c := range f.resolved {
				classes = append(classes, c.DeepCopy())
			}
			f.mu.RUnlock()
			for _, c := range classes {
				if err := f.resolve(ctx, c); err != nil && ctx.Err() == nil {
					f.log.Warn("EC2NodeClass lookup failed; keeping its last answer", "error", err)
				}
			}
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
	f.mu.Unlock()
	return nil
}
