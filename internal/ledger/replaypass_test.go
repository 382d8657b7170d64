package ledger

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestFlushEndsUnderSustainedWrites: Flush applies what was acknowledged
// before it was called; entries journaled while it runs must not keep it
// (and every usage read through Consistent, and the budget refresher)
// going for as long as the gateway has traffic.
func TestFlushEndsUnderSustainedWrites(t *testing.T) {
	db := openSQLite(t)
	w := newWriter(t, &slowStore{LedgerStore: db, delay: 2 * time.Millisecond}, Options{SpoolDir: t.TempDir(), WriteBehind: time.Hour})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := w.Write(context.Background(), entry(fmt.Sprintf("s%d-%d", g, i), 1)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- w.Flush(context.Background()) }()
	var took time.Duration
	select {
	case err := <-done:
		took = time.Since(start)
		if err != nil {
			t.Error(err)
		}
	case <-time.After(3 * time.Second):
		took = -1
	}
	close(stop)
	wg.Wait()
	if took < 0 {
		<-done
		t.Fatal("Flush did not return within 3s while writes continued")
	}
	t.Logf("Flush took %v under load", took)
}

// TestJournalDrainIsQuiet: applying the journal is the normal path, not a
// recovery: it must not log "the spool is replayed" at Info on every pass
// (50 lines a second at the default 20ms under traffic).
func TestJournalDrainIsQuiet(t *testing.T) {
	db := openSQLite(t)
	var logs syncBuffer
	w := newWriter(t, db, Options{SpoolDir: t.TempDir(), WriteBehind: time.Hour,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for i := range 10 {
		if err := w.Write(context.Background(), entry(fmt.Sprintf("q%d", i), 1)); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	wantLedger(t, db, 10, 10)
	if n := strings.Count(logs.String(), "spool is replayed"); n != 0 {
		t.Errorf("%d recovery messages for a healthy journal:\n%s", n, logs.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
