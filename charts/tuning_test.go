package charts_test

import (
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"github.com/nodewright/nodewright/worker"
	"github.com/nodewright/nodewright/worker/temporalconn"
)

// settings.temporalWorker reaches the worker as the environment its flags default from: the
// chart's defaults are the worker's own, and each value set lands in its field.
func TestChartPassesTheWorkerTuning(t *testing.T) {
	flagDefaults, err := worker.ParseFlags([]string{"--cluster-name", "lab"}, temporalconn.MapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		values string
		want   worker.Tuning
	}{
		{name: "the chart's defaults are the worker's", values: `settings: {clusterName: lab}`, want: flagDefaults.Tuning},
		{
			name: "every value set reaches the worker, large numbers as plain decimals",
			values: `settings: {clusterName: lab, temporalWorker: {workflowTaskPollers: 8, activityTaskPollers: 4, pollerAutoscaling: false,
  maxConcurrentWorkflowTasks: 100, maxConcurrentActivities: 1000000, maxConcurrentLocalActivities: 50, stickyWorkflowCacheSize: 3000}}`,
			want: worker.Tuning{WorkflowTaskPollers: 8, ActivityTaskPollers: 4, FixedPollers: true, MaxConcurrentWorkflowTasks: 100,
				MaxConcurrentActivities: 1000000, MaxConcurrentLocalActivities: 50, StickyWorkflowCacheSize: 3000},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := worker.ParseFlags(nil, temporalconn.MapEnv(workerEnv(t, tt.values)))
			if err != nil {
				t.Fatalf("the worker refuses the environment the chart gives it: %v", err)
			}
			if cfg.Tuning != tt.want {
				t.Errorf("values %s: the worker's tuning is %+v, want %+v", tt.values, cfg.Tuning, tt.want)
			}
		})
	}
}

// workerEnv renders the chart as `helm template -n kube-system nodewright` with these values
// and returns the worker container's environment.
func workerEnv(t *testing.T, values string) map[string]string {
	t.Helper()
	files := renderChart(t, "nodewright", "kube-system", values)
	var d appsv1.Deployment
	if err := yaml.Unmarshal([]byte(files["nodewright/templates/deployment.yaml"]), &d); err != nil {
		t.Fatalf("the rendered Deployment: %v", err)
	}
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name != "worker" {
			continue
		}
		env := map[string]string{}
		for _, e := range c.Env {
			env[e.Name] = e.Value
		}
		return env
	}
	t.Fatal("the rendered Deployment has no worker container")
	return nil
}

// renderChart renders the chart as `helm template -n <namespace> <release>` with these values
// and returns its files by name.
func renderChart(t *testing.T, release, namespace, values string) map[string]string {
	t.Helper()
	ch, err := loader.Load("nodewright")
	if err != nil {
		t.Fatalf("load the chart: %v", err)
	}
	vals := map[string]any{}
	if err := yaml.Unmarshal([]byte(values), &vals); err != nil {
		t.Fatalf("values %s: %v", values, err)
	}
	top, err := chartutil.ToRenderValues(ch, vals, common.ReleaseOptions{Name: release, Namespace: namespace, IsInstall: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	files, err := engine.Render(ch, top)
	if err != nil {
		t.Fatalf("render with %s: %v", values, err)
	}
	return files
}
