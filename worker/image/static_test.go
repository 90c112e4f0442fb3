package image

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// binaries are what the image ships and `make static` builds.
func binaries() []string { return []string{"worker", "starter"} }

// TestStaticBuild runs the image's build recipe, `make static`, twice: in the repository and in
// a copy of the Docker build context at another path. Both builds must give static binaries
// that start (-h exits 0), hold no build path, and are the same bytes. The second build reuses
// the Go build cache for compiled packages, which Go keys without the source directory only
// because -trimpath makes the output independent of it; without -trimpath the copy is compiled
// afresh and differs, and without -buildvcs=false the repository's build (which has .git) and
// the context's (which does not) differ.
func TestStaticBuild(t *testing.T) {
	root := repoRoot(t)
	here := filepath.Join(t.TempDir(), "here")
	buildStatic(t, root, here)
	elsewhere := filepath.Join(t.TempDir(), "another", "checkout")
	copyBuildContext(t, root, elsewhere)
	again := filepath.Join(t.TempDir(), "again")
	buildStatic(t, elsewhere, again)

	buildPaths := []string{root + "/worker/", elsewhere + "/worker/", goEnv(t, "GOROOT") + "/src/", goEnv(t, "GOMODCACHE") + "/"}
	for _, name := range binaries() {
		t.Run(name, func(t *testing.T) {
			first, second := readFile(t, filepath.Join(here, name)), readFile(t, filepath.Join(again, name))
			for _, p := range staticProblems(first) {
				t.Errorf("%s is not static: %s", name, p)
			}
			for _, p := range buildPaths {
				if bytes.Contains(first, []byte(p)) || bytes.Contains(second, []byte(p)) {
					t.Errorf("%s holds the build path %s: the build depends on where it ran (is -trimpath in STATIC_FLAGS?)", name, p)
				}
			}
			if a, b := digest(first), digest(second); a != b {
				t.Errorf("%s differs between two builds of the same source: sha256 %s in the repository, %s from a copy at %s (check STATIC_FLAGS: -trimpath, -buildvcs=false, -buildid=)",
					name, a, b, elsewhere)
			}
			if out, err := runHelp(t, filepath.Join(here, name)); err != nil {
				t.Errorf("%s -h: %v, want exit status 0; output ends:\n%s", name, err, lastLines(out, 5))
			}
		})
	}
}

// TestStaticProblemsFindADynamicBinary keeps staticProblems honest: a system binary linked
// against libc must be reported.
func TestStaticProblemsFindADynamicBinary(t *testing.T) {
	sh, err := os.ReadFile("/bin/sh")
	if err != nil {
		t.Skipf("no /bin/sh to read: %v", err)
	}
	if _, err := elf.NewFile(bytes.NewReader(sh)); err != nil {
		t.Skipf("/bin/sh is not ELF: %v", err)
	}
	if problems := staticProblems(sh); len(problems) == 0 {
		t.Fatal("/bin/sh is linked against libc, yet staticProblems finds nothing")
	}
}

// staticProblems says why an ELF binary is not static: it names an interpreter (the dynamic
// loader) or carries dynamic linking information.
func staticProblems(binary []byte) []string {
	f, err := elf.NewFile(bytes.NewReader(binary))
	if err != nil {
		return []string{fmt.Sprintf("not ELF: %v", err)}
	}
	defer f.Close()
	var problems []string
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			problems = append(problems, "it has a PT_INTERP program header (needs a dynamic loader)")
		case elf.PT_DYNAMIC:
			problems = append(problems, "it has a PT_DYNAMIC program header")
		}
	}
	if f.Section(".dynamic") != nil {
		problems = append(problems, "it has a .dynamic section")
	}
	if libs, err := f.ImportedLibraries(); err == nil && len(libs) > 0 {
		problems = append(problems, fmt.Sprintf("it needs the shared libraries %q", libs))
	}
	return problems
}

// buildStatic runs `make static` in src, writing the binaries to out.
func buildStatic(t *testing.T, src, out string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "make", "--no-print-directory", "-C", src, "static", "STATIC_DIR="+out)
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make static in %s: %v (the README lists make among what the build needs)\n%s", src, err, output)
	}
}

// runHelp runs a binary with -h and an empty environment, as a container without settings would.
func runHelp(t *testing.T, binary string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "-h")
	cmd.Env = []string{}
	return cmd.CombinedOutput()
}

// copyBuildContext copies the repository at root to dst, leaving out what .dockerignore
// leaves out of the Docker build context.
func copyBuildContext(t *testing.T, root, dst string) {
	t.Helper()
	ignored := dockerignore(t, root)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if rel != "." && ignored(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			return copyFile(path, target)
		default:
			return fmt.Errorf("%s is neither a file nor a directory; the test copies only those", rel)
		}
	})
	if err != nil {
		t.Fatalf("copy the build context to %s: %v", dst, err)
	}
}

// dockerignore reads root/.dockerignore into a matcher. It understands the patterns the file
// uses (names and globs of one path, matched from the context's root); it refuses the others
// ("!" exceptions, "**") rather than copy the wrong context.
func dockerignore(t *testing.T, root string) func(rel string) bool {
	t.Helper()
	f, err := os.Open(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatalf("read .dockerignore: %v", err)
	}
	defer f.Close()
	var patterns []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "!") || strings.Contains(line, "**") {
			t.Fatalf(".dockerignore pattern %q: this test reads only plain names and globs; extend copyBuildContext", line)
		}
		pattern := filepath.Clean(strings.TrimPrefix(line, "/"))
		if _, err := filepath.Match(pattern, ""); err != nil {
			t.Fatalf(".dockerignore pattern %q: %v", line, err)
		}
		patterns = append(patterns, pattern)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read .dockerignore: %v", err)
	}
	return func(rel string) bool {
		for _, p := range patterns {
			if ok, _ := filepath.Match(p, rel); ok {
				return true
			}
		}
		return false
	}
}

func copyFile(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, out.Close()) }()
	_, err = io.Copy(out, in)
	return err
}

// repoRoot is the directory of go.mod, above the test's working directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's working directory")
		}
		dir = parent
	}
}

func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "go", "env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read the built binary: %v", err)
	}
	return data
}

// lastLines keeps the end of a command's output, where its error is.
func lastLines(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
