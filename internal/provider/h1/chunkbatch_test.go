package h1

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// chunkServer answers every request with the chunked body the script
// writes to the connection.
func chunkServer(t *testing.T, script func(c net.Conn)) string {
	t.Helper()
	return serveRequests(t, func(c net.Conn, _ *http.Request) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
		script(c)
		c.Close() // one request a connection
	})
}

// Chunks that arrived together come out of one Read: a relay reading the
// body then writes them on in one system call, not one per chunk.
func TestOneReadTakesEveryBufferedChunk(t *testing.T) {
	u := chunkServer(t, func(c net.Conn) {
		io.WriteString(c, "6\r\ndata 1\r\n6\r\ndata 2\r\n6\r\ndata 3\r\n")
		time.Sleep(50 * time.Millisecond)
		io.WriteString(c, "6\r\ndata 4\r\n0\r\n\r\n")
	})
	resp, err := post(t, &Transport{}, context.Background(), u, "{}")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 1024)
	n, err := resp.Body.Read(buf)
	if err != nil || string(buf[:n]) != "data 1data 2data 3" {
		t.Fatalf("first Read = %q, %v; want the three chunks that arrived together", buf[:n], err)
	}
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "data 4" {
		t.Fatalf("rest = %q, %v", rest, err)
	}
}

// A chunk whose size line has arrived but none of its data does not hold
// back the chunks before it: Read returns them without waiting.
func TestReadDoesNotWaitForAChunkStillOnItsWay(t *testing.T) {
	release := make(chan struct{})
	u := chunkServer(t, func(c net.Conn) {
		io.WriteString(c, "6\r\ndata 1\r\n6\r\n")
		<-release
		io.WriteString(c, "data 2\r\n0\r\n\r\n")
	})
	resp, err := post(t, &Transport{}, context.Background(), u, "{}")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := make(chan string, 1)
	go func() {
		buf := make([]byte, 1024)
		n, _ := resp.Body.Read(buf)
		got <- string(buf[:n])
	}()
	select {
	case s := <-got:
		if s != "data 1" {
			t.Fatalf("first Read = %q, want %q", s, "data 1")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read waited for a chunk that had not arrived")
	}
	close(release)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "data 2" {
		t.Fatalf("rest = %q, %v", rest, err)
	}
}
