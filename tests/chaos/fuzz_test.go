//go:build chaos

package chaos

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// fuzzTarget is one fuzz test: its package, relative to the module root, and its name.
type fuzzTarget struct{ pkg, name string }

// R6: every fuzz target of the module runs for -fuzztime and finds no panic, and no input
// it rejects without naming the field.
func r6Fuzz(t *testing.T) {
	root := filepath.Join("..", "..")
	targets, err := findFuzzTargets(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) == 0 {
		t.Fatal("found no fuzz target under the module root")
	}
	for _, ft := range targets {
		t.Run(ft.name, func(t *testing.T) {
			start := time.Now()
			cmd := exec.Command("go", "test", "-run", "^$", "-fuzz", "^"+ft.name+"$", "-fuzztime", fuzzTime.String(), "-parallel", "1", "./"+ft.pkg)
			cmd.Dir = root
			out, err := cmd.CombinedOutput()
			verdict := "PASS"
			if err != nil {
				verdict = "FAIL"
				t.Errorf("%s in %s: %v\n%s", ft.name, ft.pkg, err, tail(string(out), 40))
			}
			line := fmt.Sprintf("R6  fuzz %s (%s) %s %s", ft.name, ft.pkg, time.Since(start).Round(time.Second), verdict)
			fmt.Println(line)
			report.add(line)
		})
	}
}

// findFuzzTargets lists every `func FuzzX(f *testing.F)` in the module's test files.
func findFuzzTargets(root string) ([]fuzzTarget, error) {
	decl := regexp.MustCompile(`^func (Fuzz\w+)\(\w+ \*testing\.F\)`)
	var out []fuzzTarget
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		lines := bufio.NewScanner(f)
		for lines.Scan() {
			if m := decl.FindStringSubmatch(lines.Text()); m != nil {
				rel, _ := filepath.Rel(root, filepath.Dir(path))
				out = append(out, fuzzTarget{pkg: filepath.ToSlash(rel), name: m[1]})
			}
		}
		return lines.Err()
	})
	slices.SortFunc(out, func(a, b fuzzTarget) int { return strings.Compare(a.pkg+a.name, b.pkg+b.name) })
	return out, err
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}
