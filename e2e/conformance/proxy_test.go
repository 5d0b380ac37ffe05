package conformance

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bollard-io/bollard/e2e/framework"
)

func TestProxyBehaviour(t *testing.T) {
	framework.Need(t, cluster)
	cluster.EnsureIngressClass(t)
	ns := cluster.CreateNamespace(t, "conf-proxy")
	cluster.MustApply(t, ns, `apiVersion: v1
kind: ConfigMap
metadata: {name: bollard}
data: {timeout-server: 1s}
`)
	b := cluster.StartBollard(t, framework.BollardOptions{Namespace: ns, Args: []string{"--configmap", ns + "/bollard"}})
	cluster.Echo(t, ns, "web", 1)
	cluster.MustApply(t, ns, framework.IngressYAML("web", "proxy.example", framework.Path{Path: "/", Type: "Prefix", Service: "web"}))
	expectService(t, b, "proxy.example", "/", "web")
	t.Run("X-Forwarded headers", func(t *testing.T) {
		record(t, "proxy behaviour", "X-Forwarded-For, X-Forwarded-Proto and X-Forwarded-Host are set")
		e, err := framework.GetEcho(context.Background(), b.Request("proxy.example:80", "/"))
		if err != nil {
			t.Fatal(err)
		}
		if e.Header("X-Forwarded-For") != "127.0.0.1" || e.Header("X-Forwarded-Proto") != "http" || e.Header("X-Forwarded-Host") != "proxy.example:80" {
			t.Errorf("forwarded headers: %v", e.Headers)
		}
	})
	t.Run("large headers", func(t *testing.T) {
		record(t, "proxy behaviour", "request headers up to 16 KB pass")
		req := b.Request("proxy.example", "/")
		req.Header = http.Header{"X-Big": {strings.Repeat("a", 16*1024-100)}}
		e, err := framework.GetEcho(context.Background(), req)
		if err != nil || len(e.Header("X-Big")) != 16*1024-100 {
			t.Errorf("16 KB header: %v", err)
		}
	})
	t.Run("slow backend bounded by timeout", func(t *testing.T) {
		record(t, "proxy behaviour", "a slow backend is bounded by the server timeout (1s here, from the ConfigMap): 504")
		req := b.Request("proxy.example", "/slow?delay=5s")
		req.Timeout = 10 * time.Second
		resp, err := framework.Do(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != http.StatusGatewayTimeout || resp.Elapsed > 3*time.Second {
			t.Errorf("slow backend: %d after %s, want 504 after about 1s", resp.Status, resp.Elapsed)
		}
	})
	t.Run("WebSocket", func(t *testing.T) {
		record(t, "proxy behaviour", "a WebSocket upgrade works end to end")
		if err := websocketEcho(net.JoinHostPort(b.Bind, strconv.Itoa(b.HTTP)), "proxy.example", "hello through haproxy"); err != nil {
			t.Error(err)
		}
	})
}

// websocketEcho upgrades /ws and checks one text frame comes back.
func websocketEcho(addr, host, msg string) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	keyBytes := make([]byte, 16)
	_, _ = rand.Read(keyBytes)
	key := base64.StdEncoding.EncodeToString(keyBytes)
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", host, key)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		return fmt.Errorf("upgrade refused: %s %v", resp.Status, resp.Header)
	}
	// A masked text frame, as a client must send.
	mask := []byte{1, 2, 3, 4}
	frame := []byte{0x81, 0x80 | byte(len(msg))}
	frame = append(frame, mask...)
	for i := 0; i < len(msg); i++ {
		frame = append(frame, msg[i]^mask[i%4])
	}
	if _, err := conn.Write(frame); err != nil {
		return err
	}
	head := make([]byte, 2)
	if _, err := io.ReadFull(br, head); err != nil {
		return err
	}
	payload := make([]byte, head[1]&0x7f)
	if _, err := io.ReadFull(br, payload); err != nil {
		return err
	}
	if head[0] != 0x81 || string(payload) != msg {
		return fmt.Errorf("echoed frame %x %q", head, payload)
	}
	return nil
}
