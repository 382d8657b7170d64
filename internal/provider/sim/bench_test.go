package sim

import (
	"context"
	"testing"
)

func BenchmarkChat(b *testing.B) {
	f := newFleet(b, Options{})
	req := userReq("gpt-4o-mini", "Explain the difference between a process and a thread in operating systems.")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Chat(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChatStream(b *testing.B) {
	f := newFleet(b, Options{})
	req := userReq("gpt-4o-mini", "Explain the difference between a process and a thread in operating systems.")
	req.Stream = true
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		s, err := f.ChatStream(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		for s.Next() {
		}
		if err := s.Err(); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}
