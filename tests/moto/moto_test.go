package moto

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// endpoint is the moto_server the package's tests share; "" when it is not installed.
var endpoint string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	path, err := exec.LookPath("moto_server")
	if err != nil {
		fmt.Println("moto tier skipped: moto_server is not on the PATH")
		return m.Run()
	}
	port, err := freePort()
	if err != nil {
		fmt.Fprintln(os.Stderr, "moto: find a port:", err)
		return 1
	}
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "moto: start moto_server:", err)
		return 1
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := waitUp(url+"/moto-api/", 30*time.Second); err != nil {
		fmt.Fprintln(os.Stderr, "moto:", err)
		return 1
	}
	endpoint = url
	return m.Run()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitUp(url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("moto_server at %s not up after %s", url, limit)
}

// motoConfig points the SDK's clients at moto, or skips the test where moto is not
// installed: moto is the second opinion, not a dependency; a user's machine need not have it,
// the lab's own simulator tests still run there, and `make test` says in one line that this
// tier was skipped.
func motoConfig(t *testing.T, region string) aws.Config {
	t.Helper()
	if endpoint == "" {
		t.Skip("moto_server is not on the PATH; pip install 'moto[server]' to run the moto tier")
	}
	return aws.Config{Region: region, BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", "")}
}

// ec2Client is the real SDK client pointed at moto.
func ec2Client(t *testing.T) *ec2.Client {
	t.Helper()
	return ec2.NewFromConfig(motoConfig(t, "us-east-1"))
}

// reset empties moto between tests, so each seeds the world it needs.
func reset(t *testing.T) {
	t.Helper()
	resp, err := http.Post(endpoint+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("reset moto: %v", err)
	}
	resp.Body.Close()
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}
