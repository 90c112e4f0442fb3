package image

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	keyword string // upper case: FROM, RUN, COPY, ...
	args    string
}

// stage is one FROM and the instructions under it.
type stage struct {
	base, name   string
	instructions []instruction
}

// parseDockerfile reads the stages of a Dockerfile: enough of the syntax for the checks below
// (comments, blank lines, backslash continuations), not a full parser.
func parseDockerfile(text string) ([]stage, error) {
	var stages []stage
	var pending string
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			pending += cont + " "
			continue
		}
		line, pending = pending+line, ""
		keyword, args, _ := strings.Cut(line, " ")
		in := instruction{keyword: strings.ToUpper(keyword), args: strings.TrimSpace(args)}
		if in.keyword == "FROM" {
			fields := strings.Fields(in.args)
			s := stage{base: fields[0]}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				s.name = fields[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if in.keyword == "ARG" {
				continue // an ARG before the first FROM only parameterises FROM lines
			}
			return nil, fmt.Errorf("%s before the first FROM", in.keyword)
		}
		stages[len(stages)-1].instructions = append(stages[len(stages)-1].instructions, in)
	}
	if pending != "" {
		return nil, fmt.Errorf("the last line ends in a continuation")
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("no FROM")
	}
	return stages, sc.Err()
}

// args of every instruction of the stage with this keyword, in order.
func (s stage) args(keyword string) []string {
	var out []string
	for _, in := range s.instructions {
		if in.keyword == keyword {
			out = append(out, in.args)
		}
	}
	return out
}

// imageProblems lists what is wrong with a Dockerfile's stages for Nodewright's image; goVersion
// is the go line of go.mod, which the builder's Go must be.
func imageProblems(stages []stage, goVersion string) []string {
	final := stages[len(stages)-1]
	var problems []string
	// Bases without libc, shell or package manager; the distroless ones also carry CA
	// certificates and a nonroot user.
	staticBase := regexp.MustCompile(`^(scratch|gcr\.io/distroless/static(-debian\d+)?(:[\w.-]+)?(@sha256:[0-9a-f]{64})?)$`)
	if !staticBase.MatchString(final.base) {
		problems = append(problems, fmt.Sprintf("final stage FROM %s: want scratch or gcr.io/distroless/static (no libc, no shell)", final.base))
	}
	problems = append(problems, userProblems(final)...)
	if got := final.args("ENTRYPOINT"); len(got) != 1 || got[0] != `["/worker"]` {
		problems = append(problems, fmt.Sprintf(`final stage ENTRYPOINT %q: want exactly ["/worker"], the exec form (there is no shell)`, got))
	}
	if runs := final.args("RUN"); len(runs) > 0 {
		problems = append(problems, fmt.Sprintf("final stage RUN %q: the base has no shell to run it", runs))
	}
	builderName, copyProblems := copiedBinaries(final)
	problems = append(problems, copyProblems...)
	if builderName == "" {
		return problems
	}
	builder, ok := stageNamed(stages[:len(stages)-1], builderName)
	if !ok {
		return append(problems, fmt.Sprintf("final stage copies from %q, which is no earlier stage", builderName))
	}
	return append(problems, builderProblems(builder, goVersion)...)
}

// userProblems checks the stage's last USER: numeric and not root.
func userProblems(final stage) []string {
	users := final.args("USER")
	if len(users) == 0 {
		return []string{"final stage has no USER: the image would run as root"}
	}
	// uid or uid:gid in numbers, which Kubernetes' runAsNonRoot can verify without reading the
	// image's /etc/passwd.
	numericUser := regexp.MustCompile(`^(\d+)(?::(\d+))?$`)
	m := numericUser.FindStringSubmatch(users[len(users)-1])
	if m == nil {
		return []string{fmt.Sprintf("final stage USER %s: want uid:gid in numbers, such as 65532:65532", users[len(users)-1])}
	}
	for _, id := range m[1:] {
		if n, err := strconv.Atoi(id); err == nil && n == 0 {
			return []string{fmt.Sprintf("final stage USER %s: runs as root (uid or gid 0)", users[len(users)-1])}
		}
	}
	return nil
}

// copiedBinaries checks that the final stage copies /worker and /starter, from one stage, and
// returns that stage's name.
func copiedBinaries(final stage) (builder string, problems []string) {
	copied := map[string]string{} // destination: source stage
	for _, args := range final.args("COPY") {
		fields := strings.Fields(args)
		from := ""
		for _, f := range fields {
			if v, ok := strings.CutPrefix(f, "--from="); ok {
				from = v
			}
		}
		copied[fields[len(fields)-1]] = from
	}
	for _, bin := range []string{"/worker", "/starter"} {
		from, ok := copied[bin]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("final stage does not COPY %s", bin))
		case from == "":
			problems = append(problems, fmt.Sprintf("final stage copies %s from the build context, not from the builder stage", bin))
		case builder != "" && from != builder:
			problems = append(problems, fmt.Sprintf("final stage copies %s from %q and the other binary from %q: want one builder", bin, from, builder))
		default:
			builder = from
		}
	}
	return builder, problems
}

// builderProblems checks that the builder runs Go of go.mod's version and builds with the
// shared recipe, `make static`.
func builderProblems(builder stage, goVersion string) []string {
	var problems []string
	image, _, _ := strings.Cut(builder.base, "@")
	if image != "golang:"+goVersion {
		problems = append(problems, fmt.Sprintf("builder FROM %s: want golang:%s, the go line of go.mod", builder.base, goVersion))
	}
	shared := false
	for _, run := range builder.args("RUN") {
		shared = shared || strings.Contains(run, "make static")
	}
	if !shared {
		problems = append(problems, "builder stage never runs `make static`: the image must ship what the Makefile's one recipe builds")
	}
	return problems
}

func stageNamed(stages []stage, name string) (stage, bool) {
	for i, s := range stages {
		if s.name == name || strconv.Itoa(i) == name {
			return s, true
		}
	}
	return stage{}, false
}

// goVersion reads the go line of go.mod.
func goVersion(t *testing.T, root string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatalf("read go.mod: %v", err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "go "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("go.mod has no go line")
	return ""
}

func TestDockerfileBuildsTheSharedBinariesIntoANonRootStaticImage(t *testing.T) {
	root := repoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatalf("read Dockerfile: %v", err)
	}
	stages, err := parseDockerfile(string(data))
	if err != nil {
		t.Fatalf("parse Dockerfile: %v", err)
	}
	for _, p := range imageProblems(stages, goVersion(t, root)) {
		t.Error(p)
	}
}

// good is a Dockerfile imageProblems accepts; the cases below break it one way each.
const good = `FROM golang:1.26.8 AS build
COPY . .
RUN make static STATIC_DIR=/out
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/worker /worker
COPY --from=build /out/starter /starter
USER 65532:65532
ENTRYPOINT ["/worker"]
`

func TestImageProblemsNameWhatIsWrong(t *testing.T) {
	tests := []struct {
		name       string
		dockerfile string
		want       string // a problem containing this; empty means none
	}{
		{name: "the shared static build on distroless as nonroot passes", dockerfile: good},
		{name: "scratch passes too", dockerfile: strings.Replace(good, "gcr.io/distroless/static-debian12:nonroot", "scratch", 1)},
		{name: "a base pinned by digest passes", dockerfile: strings.Replace(good, ":nonroot", ":nonroot@sha256:"+strings.Repeat("ab", 32), 1)},
		{
			name:       "a base with a shell is refused",
			dockerfile: strings.Replace(good, "gcr.io/distroless/static-debian12:nonroot", "debian:12", 1),
			want:       "final stage FROM debian:12",
		},
		{name: "no USER is refused", dockerfile: strings.Replace(good, "USER 65532:65532\n", "", 1), want: "no USER"},
		{name: "USER root by number is refused", dockerfile: strings.Replace(good, "65532:65532", "0:0", 1), want: "runs as root"},
		{name: "a group of root is refused", dockerfile: strings.Replace(good, "65532:65532", "65532:0", 1), want: "runs as root"},
		{name: "a USER by name is refused", dockerfile: strings.Replace(good, "65532:65532", "nonroot", 1), want: "in numbers"},
		{
			name:       "an ENTRYPOINT in shell form is refused",
			dockerfile: strings.Replace(good, `["/worker"]`, "/worker", 1),
			want:       "ENTRYPOINT",
		},
		{
			name:       "a RUN in the final stage is refused",
			dockerfile: strings.Replace(good, "USER", "RUN chmod +x /worker\nUSER", 1),
			want:       "no shell to run it",
		},
		{
			name:       "binaries from the build context are refused",
			dockerfile: strings.Replace(good, "COPY --from=build /out/starter", "COPY bin/starter", 1),
			want:       "copies /starter from the build context",
		},
		{name: "an image without the starter is refused", dockerfile: strings.Replace(good, "COPY --from=build /out/starter /starter\n", "", 1), want: "does not COPY /starter"},
		{
			name:       "a builder that calls go build itself is refused",
			dockerfile: strings.Replace(good, "make static STATIC_DIR=/out", "CGO_ENABLED=0 go build -o /out/ ./worker/cmd/worker ./starter/cmd/starter", 1),
			want:       "never runs `make static`",
		},
		{name: "a builder of another Go is refused", dockerfile: strings.Replace(good, "golang:1.26.8", "golang:1.25.1", 1), want: "want golang:1.26.8"},
		{
			name:       "continuation lines are joined",
			dockerfile: strings.Replace(good, "RUN make static STATIC_DIR=/out", "RUN go mod download && \\\n    make static STATIC_DIR=/out", 1),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stages, err := parseDockerfile(tt.dockerfile)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			problems := imageProblems(stages, "1.26.8")
			if tt.want == "" {
				if len(problems) > 0 {
					t.Fatalf("want no problem, got %q", problems)
				}
				return
			}
			for _, p := range problems {
				if strings.Contains(p, tt.want) {
					return
				}
			}
			t.Fatalf("want a problem containing %q, got %q", tt.want, problems)
		})
	}
}
