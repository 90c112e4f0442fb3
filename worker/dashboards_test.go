package worker

import (
	"encoding/json"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/nodewright/nodewright/activities"
)

// The chart's files the operators install: a Grafana dashboard and Prometheus alerting rules.
const (
	dashboardFile = "../charts/nodewright/files/dashboard.json"
	alertsFile    = "../charts/nodewright/files/alerts.yaml"
)

// scrapeSeries are the series Prometheus adds to every target itself.
func scrapeSeries() []string { return []string{"up"} }

type grafanaDashboard struct {
	Templating struct {
		List []grafanaVariable `json:"list"`
	} `json:"templating"`
	Panels []grafanaPanel `json:"panels"`
}

type grafanaVariable struct {
	Name       string             `json:"name"`
	Type       string             `json:"type"`
	Datasource *grafanaDatasource `json:"datasource"`
	Query      json.RawMessage    `json:"query"`
}

type grafanaDatasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type grafanaPanel struct {
	ID         int                `json:"id"`
	Type       string             `json:"type"`
	Title      string             `json:"title"`
	Datasource *grafanaDatasource `json:"datasource"`
	Targets    []struct {
		Expr       string             `json:"expr"`
		Datasource *grafanaDatasource `json:"datasource"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"` // a collapsed row's
}

type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert       string            `json:"alert"`
			Expr        string            `json:"expr"`
			For         string            `json:"for"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

func readDashboard(t *testing.T) grafanaDashboard {
	t.Helper()
	var d grafanaDashboard
	if err := json.Unmarshal(readChartFile(t, dashboardFile), &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

func readAlerts(t *testing.T) ruleFile {
	t.Helper()
	var r ruleFile
	if err := yaml.UnmarshalStrict(readChartFile(t, alertsFile), &r); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	return r
}

func readChartFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// graphPanels are the panels that draw series: every panel but rows, rows' own included.
func graphPanels(panels []grafanaPanel) []grafanaPanel {
	var out []grafanaPanel
	for _, p := range panels {
		if p.Type == "row" {
			out = append(out, graphPanels(p.Panels)...)
			continue
		}
		out = append(out, p)
	}
	return out
}

// dashboardExprs are the dashboard's PromQL expressions, each named by where it is.
func dashboardExprs(t *testing.T, d grafanaDashboard) map[string]string {
	t.Helper()
	exprs := map[string]string{}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		if expr, ok := variableSelector(t, v); ok {
			exprs["variable "+v.Name] = expr
		}
	}
	for _, p := range graphPanels(d.Panels) {
		for i, target := range p.Targets {
			exprs[p.Title+" #"+string(rune('A'+i))] = target.Expr
		}
	}
	return exprs
}

// labelValuesQuery is Grafana's label_values(selector, label) variable query.
var labelValuesQuery = regexp.MustCompile(`^label_values\((.+),\s*\w+\s*\)$`)

// variableSelector is the series selector of a label_values query variable.
func variableSelector(t *testing.T, v grafanaVariable) (string, bool) {
	t.Helper()
	var query struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal(v.Query, &query); err != nil {
		if err := json.Unmarshal(v.Query, &query.Query); err != nil { // older Grafana: a string
			t.Fatalf("variable %s: query is neither an object nor a string: %s", v.Name, v.Query)
		}
	}
	m := labelValuesQuery.FindStringSubmatch(query.Query)
	if m == nil {
		return "", false
	}
	return m[1], true
}

func TestDashboardPanelsReadTheChosenDatasource(t *testing.T) {
	d := readDashboard(t)
	vars := map[string]grafanaVariable{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v
	}
	if ds := vars["datasource"]; ds.Type != "datasource" || string(ds.Query) != `"prometheus"` {
		t.Errorf("variable datasource is %s %s, want a datasource variable of Prometheus data sources", ds.Type, ds.Query)
	}
	usesVariable := func(ds *grafanaDatasource) bool {
		return ds != nil && ds.Type == "prometheus" && (ds.UID == "${datasource}" || ds.UID == "$datasource")
	}
	if np := vars["nodepool"]; np.Type != "query" || !usesVariable(np.Datasource) {
		t.Errorf("variable nodepool is a %q on %+v, want a query of the NodePools' label values on ${datasource}", np.Type, np.Datasource)
	}
	ids := map[int]string{}
	for _, p := range graphPanels(d.Panels) {
		if other, ok := ids[p.ID]; ok {
			t.Errorf("panels %q and %q share id %d", p.Title, other, p.ID)
		}
		ids[p.ID] = p.Title
		if !usesVariable(p.Datasource) {
			t.Errorf("panel %q reads datasource %+v, want {prometheus ${datasource}}", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, target := range p.Targets {
			if target.Datasource != nil && !usesVariable(target.Datasource) {
				t.Errorf("panel %q: a query reads datasource %+v, want {prometheus ${datasource}}", p.Title, target.Datasource)
			}
			if strings.TrimSpace(target.Expr) == "" {
				t.Errorf("panel %q: a query has no expression", p.Title)
			}
		}
	}
}

func TestAlertsHaveADurationASeverityAndARunbook(t *testing.T) {
	rules := readAlerts(t)
	var group int
	for _, g := range rules.Groups {
		if g.Name != "nodewright" {
			continue
		}
		group++
		for _, r := range g.Rules {
			if r.Alert == "" || strings.TrimSpace(r.Expr) == "" {
				t.Errorf("rule %q: want an alert name and an expression", r.Alert)
			}
			if d, err := time.ParseDuration(r.For); err != nil || d <= 0 {
				t.Errorf("alert %s: for %q, want a positive duration such as 5m", r.Alert, r.For)
			}
			if !slices.Contains([]string{"critical", "warning", "info"}, r.Labels["severity"]) {
				t.Errorf("alert %s: severity %q, want critical, warning or info", r.Alert, r.Labels["severity"])
			}
			for _, a := range []string{"summary", "description"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("alert %s: no %s annotation", r.Alert, a)
				}
			}
		}
	}
	if group != 1 {
		t.Errorf("%d groups named nodewright, want 1", group)
	}
}

// TestDashboardAndAlertsReadOnlyServedSeries fails when a panel or an alert reads a series the
// worker does not serve, such as one renamed in the worker or in the Temporal SDK.
func TestDashboardAndAlertsReadOnlyServedSeries(t *testing.T) {
	exprs := dashboardExprs(t, readDashboard(t))
	for _, g := range readAlerts(t).Groups {
		for _, r := range g.Rules {
			exprs["alert "+r.Alert] = r.Expr
		}
	}
	served := servedSeries(t)
	for _, where := range slices.Sorted(maps.Keys(exprs)) {
		names, err := promqlMetricNames(exprs[where])
		if err != nil {
			t.Errorf("%s: %v", where, err)
			continue
		}
		if len(names) == 0 {
			t.Errorf("%s: %q reads no series", where, exprs[where])
		}
		for _, n := range names {
			if !served[n] {
				t.Errorf("%s reads %s, which the worker does not serve", where, n)
			}
		}
	}
}

// servedSeries are the series names a scrape of the worker may carry: its own metrics'
// (histograms' and summaries' with their _bucket, _sum and _count), the Temporal SDK's as
// the worker's handler names them, and Prometheus' own.
func servedSeries(t *testing.T) map[string]bool {
	t.Helper()
	served := map[string]bool{}
	for name := range workerMetricNames(t) {
		for _, suffix := range []string{"", "_bucket", "_sum", "_count"} {
			served[name+suffix] = true
		}
	}
	maps.Copy(served, sdkSeriesNames(t))
	for _, n := range scrapeSeries() {
		served[n] = true
	}
	return served
}

// descNames is a Registerer that only records the names its collectors describe.
type descNames map[string]bool

var descFQName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (d descNames) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc)
	go func() {
		c.Describe(ch)
		close(ch)
	}()
	for desc := range ch {
		if m := descFQName.FindStringSubmatch(desc.String()); m != nil {
			d[m[1]] = true
		}
	}
	return nil
}

func (d descNames) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = d.Register(c)
	}
}

func (d descNames) Unregister(prometheus.Collector) bool { return false }

// workerMetricNames are the names of the worker's own metrics, built as Run builds them.
func workerMetricNames(t *testing.T) descNames {
	t.Helper()
	names := descNames{}
	m := newMetrics()
	names.MustRegister(m.podsSignalled, m.signalErrors, m.unschedulablePods)
	for _, c := range m.workflowCounters {
		names.MustRegister(c.vec)
	}
	if _, err := activities.NewMetrics(names); err != nil {
		t.Fatal(err)
	}
	names.MustRegister(newClusterMetrics(activities.NewInformerFactory(fake.NewClientset()), nil), newMarketMetrics(nil))
	return names
}

// sdkSeriesNames are the series the Temporal SDK's metrics become on the worker's registry:
// every metric the SDK's source defines, reported through the worker's handler as the SDK
// reports it (a counter, a timer or a gauge), then gathered.
func sdkSeriesNames(t *testing.T) map[string]bool {
	t.Helper()
	m := newMetrics()
	h, closer := newSDKMetricsHandler(m, slog.New(slog.DiscardHandler))
	for name, kinds := range sdkMetricKinds(t) {
		for _, k := range kinds {
			switch k {
			case "Counter":
				h.Counter(name).Inc(1)
			case "Timer":
				h.Timer(name).Record(time.Millisecond)
			case "Gauge":
				h.Gauge(name).Update(1)
			}
		}
	}
	if err := closer.Close(); err != nil { // flushes tally's report
		t.Fatal(err)
	}
	families, err := m.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "temporal_") {
			continue
		}
		names[f.GetName()] = true
		if f.GetType().String() == "HISTOGRAM" {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				names[f.GetName()+suffix] = true
			}
		}
	}
	if len(names) == 0 {
		t.Fatal("the SDK's metrics reached no series")
	}
	return names
}

// sdkMetricKinds are the metric names the Temporal SDK defines (internal/common/metrics,
// which no other module may import, so read from its source), each with the kinds the SDK's
// source reports it as: its calls Counter(metrics.X), Timer(metrics.X), Gauge(metrics.X). A
// name reported only through a variable gets every kind.
func sdkMetricKinds(t *testing.T) map[string][]string {
	t.Helper()
	dir := sdkSourceDir(t)
	consts := sdkMetricConstants(t, filepath.Join(dir, "internal", "common", "metrics", "constants.go"))
	kinds := sdkReportCalls(t, dir)
	out := make(map[string][]string, len(consts))
	for ident, name := range consts {
		out[name] = kinds[ident]
		if len(out[name]) == 0 {
			out[name] = []string{"Counter", "Timer", "Gauge"}
		}
	}
	return out
}

// sdkSourceDir is where the go command keeps the SDK's source of the version go.mod requires.
func sdkSourceDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "go.temporal.io/sdk").Output()
	if err != nil {
		t.Fatalf("locate the Temporal SDK's source: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// sdkMetricConstants are the metric names of constants.go's "Metrics keys" block (the one
// that declares TemporalMetricsPrefix), by constant name.
func sdkMetricConstants(t *testing.T, path string) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	info := &types.Info{Defs: map[*ast.Ident]types.Object{}}
	if _, err := (&types.Config{}).Check("metrics", fset, []*ast.File{f}, info); err != nil {
		t.Fatalf("type-check %s: %v", path, err)
	}
	for _, decl := range f.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST || !declares(gen, "TemporalMetricsPrefix") {
			continue
		}
		names := map[string]string{}
		for _, spec := range gen.Specs {
			for _, id := range spec.(*ast.ValueSpec).Names {
				if c, ok := info.Defs[id].(*types.Const); ok && id.Name != "TemporalMetricsPrefix" {
					names[id.Name] = constant.StringVal(c.Val())
				}
			}
		}
		return names
	}
	t.Fatalf("%s declares no TemporalMetricsPrefix: the SDK moved its metric names", path)
	return nil
}

func declares(gen *ast.GenDecl, name string) bool {
	for _, spec := range gen.Specs {
		for _, id := range spec.(*ast.ValueSpec).Names {
			if id.Name == name {
				return true
			}
		}
	}
	return false
}

// sdkReportCalls are the kinds each metrics constant is reported as by the SDK's internal
// packages, read from their calls handler.Counter(metrics.X) and the like.
func sdkReportCalls(t *testing.T, dir string) map[string][]string {
	t.Helper()
	kinds := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(filepath.Join(dir, "internal"), func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if kind, ident, ok := reportCall(n); ok && !slices.Contains(kinds[ident], kind) {
				kinds[ident] = append(kinds[ident], kind)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return kinds
}

// reportCall recognises x.Counter(metrics.Name), x.Timer(Name) and the like.
func reportCall(n ast.Node) (kind, ident string, ok bool) {
	call, isCall := n.(*ast.CallExpr)
	if !isCall || len(call.Args) != 1 {
		return "", "", false
	}
	fun, isSel := call.Fun.(*ast.SelectorExpr)
	if !isSel || !slices.Contains([]string{"Counter", "Timer", "Gauge"}, fun.Sel.Name) {
		return "", "", false
	}
	switch arg := call.Args[0].(type) {
	case *ast.SelectorExpr:
		if pkg, isIdent := arg.X.(*ast.Ident); isIdent && pkg.Name == "metrics" {
			return fun.Sel.Name, arg.Sel.Name, true
		}
	case *ast.Ident:
		return fun.Sel.Name, arg.Name, true
	}
	return "", "", false
}
