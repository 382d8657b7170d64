package octomesh

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestScopeAnswersTheAccessorsAndWithWins(t *testing.T) {
	p := &Principal{KeyID: "k1", OrgID: "o1"}
	sc := &RequestScope{ID: "req-1", Principal: p, Actor: Actor{Type: "key", KeyID: "k1"}, HasActor: true,
		Forward: [][2]string{{"X-Trace", "t"}}}
	ctx := WithScope(context.Background(), sc)
	if RequestIDFrom(ctx) != "req-1" || LedgerRequestIDFrom(ctx) != "req-1" || PrincipalFrom(ctx) != p ||
		ActorFrom(ctx).KeyID != "k1" || fmt.Sprint(ForwardHeadersFrom(ctx)) != "[[X-Trace t]]" {
		t.Fatalf("from the scope: %q %q %v %v %v", RequestIDFrom(ctx), LedgerRequestIDFrom(ctx), PrincipalFrom(ctx), ActorFrom(ctx), ForwardHeadersFrom(ctx))
	}
	sc.LedgerID = "req-1~x"
	if LedgerRequestIDFrom(ctx) != "req-1~x" {
		t.Fatalf("ledger id = %q", LedgerRequestIDFrom(ctx))
	}
	// A value set with a With function wraps the scope and wins.
	q := &Principal{KeyID: "k2"}
	inner := WithActor(WithPrincipal(WithRequestID(ctx, "req-2"), q), Actor{Type: "cli"})
	if RequestIDFrom(inner) != "req-2" || PrincipalFrom(inner) != q || ActorFrom(inner).Type != "cli" {
		t.Fatalf("With values did not win over the scope")
	}
	// Without a scope or values: the defaults.
	bg := context.Background()
	if RequestIDFrom(bg) != "" || PrincipalFrom(bg) != nil || ActorFrom(bg).Type != "system" || ForwardHeadersFrom(bg) != nil {
		t.Fatal("defaults without a scope")
	}
	// A scope without an actor yet answers "system".
	if ActorFrom(WithScope(bg, &RequestScope{ID: "x"})).Type != "system" {
		t.Fatal("a scope without an actor")
	}
}

// Values set outside the scope, on the context a request arrives with (a
// server's BaseContext, a test, an embedding handler), are older than the
// scope's: the scope's filled-in fields win over them, as an inner
// context value always wins over an outer one; its empty fields do not.
func TestAScopeWinsOverValuesSetOutsideIt(t *testing.T) {
	outerP := &Principal{KeyID: "k-outer"}
	outer := WithActor(WithPrincipal(WithRequestID(context.Background(), "req-outer"), outerP), Actor{Type: "cli"})
	outer = WithForwardHeaders(outer, [][2]string{{"X-Outer", "o"}})
	sc := &RequestScope{ID: "req-1"}
	ctx := WithScope(outer, sc)
	if RequestIDFrom(ctx) != "req-1" || PrincipalFrom(ctx) != outerP || ActorFrom(ctx).Type != "cli" {
		t.Fatalf("before authentication: %q %v %v", RequestIDFrom(ctx), PrincipalFrom(ctx), ActorFrom(ctx))
	}
	p := &Principal{KeyID: "k1"}
	sc.Principal, sc.Actor, sc.HasActor = p, Actor{Type: "key", KeyID: "k1"}, true
	sc.Forward = [][2]string{{"X-Trace", "t"}}
	if got, want := fmt.Sprint(PrincipalFrom(ctx), ActorFrom(ctx).Type, ForwardHeadersFrom(ctx)), fmt.Sprint(p, "key", sc.Forward); got != want {
		t.Fatalf("filled in: got %s, want %s", got, want)
	}
}

// NewScope's context is WithScope's: the same answers, from one allocation.
func TestNewScope(t *testing.T) {
	ctx, sc := NewScope(context.Background())
	if ScopeFrom(ctx) != sc || RequestIDFrom(ctx) != "" {
		t.Fatalf("a new scope: %p %q", ScopeFrom(ctx), RequestIDFrom(ctx))
	}
	sc.ID, sc.LedgerID = "req-1", "req-1~x"
	if RequestIDFrom(ctx) != "req-1" || LedgerRequestIDFrom(ctx) != "req-1~x" {
		t.Fatalf("filled in: %q %q", RequestIDFrom(ctx), LedgerRequestIDFrom(ctx))
	}
	if n := testing.AllocsPerRun(100, func() { NewScope(context.Background()) }); n != 1 {
		t.Errorf("NewScope allocates %v times, want 1", n)
	}
}

// afterFuncCtx is a context of its own kind that takes AfterFuncs (as
// h1server's request context does), counting them.
type afterFuncCtx struct {
	context.Context
	funcs int
}

func (c *afterFuncCtx) AfterFunc(f func()) func() bool {
	c.funcs++
	return context.AfterFunc(c.Context, f)
}

// Value hides the cancelCtx under it, as a context of another kind does.
func (c *afterFuncCtx) Value(key any) any { return nil }

// A standard context derived from a scope over a context with an
// AfterFunc method registers through it, and ends with it.
func TestScopeAfterFunc(t *testing.T) {
	inner, cancel := context.WithCancel(context.Background())
	parent := &afterFuncCtx{Context: inner}
	ctx, _ := NewScope(parent)
	child, stop := context.WithCancel(ctx)
	defer stop()
	if parent.funcs != 1 {
		t.Fatalf("the child registered %d times through AfterFunc, want 1", parent.funcs)
	}
	cancel()
	select {
	case <-child.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the child outlived its parent")
	}
}
