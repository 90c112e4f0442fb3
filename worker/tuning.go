package worker

import (
	"cmp"
	"flag"
	"fmt"
	"strconv"
	"time"

	sdkworker "go.temporal.io/sdk/worker"
)

// Tuning sizes the Temporal worker for its load: 1,000 to 5,000 node workflows, mostly idle
// between a few bursts of work, plus the handful of controllers, on a pod of about 2 vCPU.
// A zero field means its default (see defaultTuning), as for a Config built in code.
type Tuning struct {
	// WorkflowTaskPollers and ActivityTaskPollers are the most polls of each kind a worker
	// keeps open: the ceiling poller autoscaling moves under, or the fixed count with
	// FixedPollers.
	WorkflowTaskPollers int
	ActivityTaskPollers int
	// FixedPollers keeps the poller counts fixed (--poller-autoscaling=false); by default the
	// worker scales them on the server's advice.
	FixedPollers bool
	// MaxConcurrentWorkflowTasks, MaxConcurrentActivities and MaxConcurrentLocalActivities
	// are the worker's slots: tasks it runs at once before it stops polling for more.
	MaxConcurrentWorkflowTasks   int
	MaxConcurrentActivities      int
	MaxConcurrentLocalActivities int
	// StickyWorkflowCacheSize is how many workflows the process keeps in memory between their
	// tasks; an evicted one replays its whole history on its next task. The SDK sets it for
	// the process, before the first worker starts (the worker binary does).
	StickyWorkflowCacheSize int
}

// defaultTuning is the tuning a worker gets when it is not told otherwise.
//
// Pollers autoscale, as Temporal recommends since server 1.28: the server asks for more polls
// while tasks wait and fewer while polls come back empty, so a quiet cluster holds a few polls
// open and a scale-out gets up to the ceiling within seconds. A server that never sends
// scaling decisions leaves them at the initial count (5), more than the SDK's fixed 2. A
// poll accepts a task per round trip, so 20 accept about 1,000 tasks a second even at 20 ms
// to Temporal Cloud, more than 2 vCPU can run.
//
// Activities: most of them wait (for an instance to become a Node, for a drain, for a
// termination), holding a slot for tens of seconds while costing little more than a
// goroutine. With the SDK's 1,000, a scale-out of more than 1,000 nodes on one worker would
// queue its launches behind those waits; 2,000 serves the 5,000-pod scale-out (about 1,700
// nodes) on one worker, twice that on the chart's two replicas.
//
// Local activities are short Kubernetes calls, paced by the client at --kube-client-qps
// (200 a second by default): more than about a second's worth in flight only queue inside
// client-go. A workflow task holds its slot while its local activities run, so workflow
// task slots come to more than local activity slots, leaving room for the tasks that run
// none; the CPU-bound part of a workflow task takes about a millisecond, so 500 slots never
// hold work for long on 2 vCPU.
//
// The sticky cache holds every node workflow of a 5,000-node cluster and the controllers on
// one worker, with room for the replacements that run beside old nodes during a rollout; a
// completed workflow leaves the cache, so memory follows the workflows that exist, and the
// limit only caps a larger cluster, whose least recently served workflows replay their
// (at most a few dozen events of) history when next needed.
func defaultTuning() Tuning {
	return Tuning{
		WorkflowTaskPollers:          20,
		ActivityTaskPollers:          20,
		MaxConcurrentWorkflowTasks:   500,
		MaxConcurrentActivities:      2000,
		MaxConcurrentLocalActivities: 200,
		StickyWorkflowCacheSize:      6000,
	}
}

// initialPollers is how many polls of each kind an autoscaling worker opens at start, as
// the SDK does by default (never more than the ceiling); the server's advice moves it from
// there.
const initialPollers = 5

// withDefaults fills the zero fields with the defaults.
func (t Tuning) withDefaults() Tuning {
	d := defaultTuning()
	return Tuning{
		WorkflowTaskPollers:          cmp.Or(t.WorkflowTaskPollers, d.WorkflowTaskPollers),
		ActivityTaskPollers:          cmp.Or(t.ActivityTaskPollers, d.ActivityTaskPollers),
		FixedPollers:                 t.FixedPollers,
		MaxConcurrentWorkflowTasks:   cmp.Or(t.MaxConcurrentWorkflowTasks, d.MaxConcurrentWorkflowTasks),
		MaxConcurrentActivities:      cmp.Or(t.MaxConcurrentActivities, d.MaxConcurrentActivities),
		MaxConcurrentLocalActivities: cmp.Or(t.MaxConcurrentLocalActivities, d.MaxConcurrentLocalActivities),
		StickyWorkflowCacheSize:      cmp.Or(t.StickyWorkflowCacheSize, d.StickyWorkflowCacheSize),
	}
}

// sdkOptions are the Temporal worker's options for this tuning; onFatal hears of the worker
// stopping for good.
func (t Tuning) sdkOptions(onFatal func(error)) sdkworker.Options {
	t = t.withDefaults()
	return sdkworker.Options{
		WorkflowTaskPollerBehavior:              t.pollers(t.WorkflowTaskPollers),
		ActivityTaskPollerBehavior:              t.pollers(t.ActivityTaskPollers),
		MaxConcurrentWorkflowTaskExecutionSize:  t.MaxConcurrentWorkflowTasks,
		MaxConcurrentActivityExecutionSize:      t.MaxConcurrentActivities,
		MaxConcurrentLocalActivityExecutionSize: t.MaxConcurrentLocalActivities,
		MaxHeartbeatThrottleInterval:            maxHeartbeatThrottle,
		OnFatalError:                            onFatal,
	}
}

// maxHeartbeatThrottle is the longest the SDK holds an activity's heartbeats back (it holds
// them for 80 % of the heartbeat timeout otherwise): a wait for a Node heartbeats at least
// this often once it has started to, leaving the server room to be slow before the wait's
// heartbeat timeout, and hears of its cancellation this soon.
const maxHeartbeatThrottle = 10 * time.Second

// pollers keeps up to most polls open: autoscaled from initialPollers, or all of them.
func (t Tuning) pollers(most int) sdkworker.PollerBehavior {
	if t.FixedPollers {
		return sdkworker.NewPollerBehaviorSimpleMaximum(sdkworker.PollerBehaviorSimpleMaximumOptions{MaximumNumberOfPollers: most})
	}
	return sdkworker.NewPollerBehaviorAutoscaling(sdkworker.PollerBehaviorAutoscalingOptions{
		InitialNumberOfPollers: initialPollers,
		MinimumNumberOfPollers: 1,
		MaximumNumberOfPollers: most,
	})
}

// StickyWorkflowCacheSize is the sticky cache size the worker binary gives the SDK
// (worker.SetStickyWorkflowCacheSize) before it runs the worker.
func (c Config) StickyWorkflowCacheSize() int {
	return c.Tuning.withDefaults().StickyWorkflowCacheSize
}

// tuningSetting is one count of the tuning as a flag and an environment variable spell it.
type tuningSetting struct {
	flag, env string
	value     *int
	def       int
	// least is the smallest value the SDK takes; why says why when it is above 1.
	least int
	why   string
	usage string
}

// name is how errors name the setting: its flag and its variable.
func (s tuningSetting) name() string { return fmt.Sprintf("--%s (%s)", s.flag, s.env) }

// settings lists the counts of t with their flags, variables and defaults.
func (t *Tuning) settings() []tuningSetting {
	d := defaultTuning()
	alternates := "a workflow worker alternates between its sticky and its normal queue"
	return []tuningSetting{
		{flag: "workflow-task-pollers", env: "WORKFLOW_TASK_POLLERS", value: &t.WorkflowTaskPollers, def: d.WorkflowTaskPollers, least: 2, why: alternates,
			usage: "most workflow task polls open at once: the ceiling of poller autoscaling, or the count with --poller-autoscaling=false"},
		{flag: "activity-task-pollers", env: "ACTIVITY_TASK_POLLERS", value: &t.ActivityTaskPollers, def: d.ActivityTaskPollers, least: 1,
			usage: "most activity task polls open at once: the ceiling of poller autoscaling, or the count with --poller-autoscaling=false"},
		{flag: "max-concurrent-workflow-tasks", env: "MAX_CONCURRENT_WORKFLOW_TASKS", value: &t.MaxConcurrentWorkflowTasks, def: d.MaxConcurrentWorkflowTasks, least: 2, why: alternates,
			usage: "workflow tasks run at once, those waiting on local activities included"},
		{flag: "max-concurrent-activities", env: "MAX_CONCURRENT_ACTIVITIES", value: &t.MaxConcurrentActivities, def: d.MaxConcurrentActivities, least: 1,
			usage: "activities run at once, those waiting for a node, a drain or a termination included"},
		{flag: "max-concurrent-local-activities", env: "MAX_CONCURRENT_LOCAL_ACTIVITIES", value: &t.MaxConcurrentLocalActivities, def: d.MaxConcurrentLocalActivities, least: 1,
			usage: "local activities (short Kubernetes calls of the workflows) run at once"},
		{flag: "sticky-workflow-cache-size", env: "STICKY_WORKFLOW_CACHE_SIZE", value: &t.StickyWorkflowCacheSize, def: d.StickyWorkflowCacheSize, least: 1,
			usage: "workflows kept in memory between their tasks; one evicted replays its history on its next task"},
	}
}

// tuningFlagValues are the tuning's flags as parsed, before they make a Tuning.
type tuningFlagValues struct {
	counts    Tuning
	autoscale bool
}

// tuningFlags registers the tuning's flags, their defaults read from the environment; a
// variable that does not parse is reported by name.
func tuningFlags(fs *flag.FlagSet, getenv func(string) string, errs *[]error) *tuningFlagValues {
	v := &tuningFlagValues{}
	for _, s := range v.counts.settings() {
		fs.IntVar(s.value, s.flag, envParsed(getenv, s.env, s.def, strconv.Atoi, "a whole number", errs), fmt.Sprintf("%s (env %s)", s.usage, s.env))
	}
	fs.BoolVar(&v.autoscale, "poller-autoscaling", envParsed(getenv, "POLLER_AUTOSCALING", true, strconv.ParseBool, "true or false", errs),
		"scale the polls of each kind between 1 and --workflow-task-pollers / --activity-task-pollers on the Temporal server's advice (server 1.28 or later); false keeps them at those counts (env POLLER_AUTOSCALING)")
	return v
}

// tuning is the parsed Tuning. A Config built in code means the default by 0, so a count
// given as 0 is refused here, naming the flag.
func (v *tuningFlagValues) tuning() (Tuning, []error) {
	t := v.counts
	t.FixedPollers = !v.autoscale
	var errs []error
	for _, s := range t.settings() {
		if *s.value == 0 {
			errs = append(errs, fmt.Errorf("%s is 0: give at least %d, or leave it out for the default %d", s.name(), s.least, s.def))
		}
	}
	return t, errs
}

// validate names each count below what the SDK takes, defaults filled in.
func (t Tuning) validate() []error {
	var errs []error
	for _, s := range t.settings() {
		v := cmp.Or(*s.value, s.def)
		if v >= s.least {
			continue
		}
		fix := fmt.Sprintf("must be at least %d (default %d)", s.least, s.def)
		if s.why != "" {
			fix += ": " + s.why
		}
		errs = append(errs, fmt.Errorf("%s %d %s", s.name(), v, fix))
	}
	return errs
}
