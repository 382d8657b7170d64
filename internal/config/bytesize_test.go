package config

import "testing"

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in      string
		want    ByteSize
		wantErr bool
	}{
		{in: "0", want: 0},
		{in: "1048576", want: MiB},
		{in: "10MiB", want: 10 << 20},
		{in: "10 MiB", want: 10 << 20},
		{in: "10mib", want: 10 << 20},
		{in: "512KiB", want: 512 << 10},
		{in: "2GiB", want: 2 << 30},
		{in: "1TiB", want: 1 << 40},
		{in: "10MB", want: 10_000_000},
		{in: "1kb", want: 1000},
		{in: "3GB", want: 3_000_000_000},
		{in: "7B", want: 7},
		{in: " 5 KiB ", want: 5 << 10},
		{in: "", wantErr: true},
		{in: "MiB", wantErr: true},
		{in: "1.5MiB", wantErr: true},
		{in: "-1", wantErr: true},
		{in: "+1", wantErr: true},
		{in: "10 parsecs", wantErr: true},
		{in: "10M", wantErr: true},
		{in: "9223372036854775807", want: 1<<63 - 1},
		{in: "9223372036854775808", wantErr: true},
		{in: "8388608TiB", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseByteSize(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestByteSizeString(t *testing.T) {
	tests := map[ByteSize]string{
		0:          "0B",
		100:        "100B",
		10 * MiB:   "10MiB",
		1536 * KiB: "1536KiB",
		2 * GiB:    "2GiB",
		3 * TiB:    "3TiB",
		10 * MB:    "10000000B",
	}
	for in, want := range tests {
		if got := in.String(); got != want {
			t.Errorf("ByteSize(%d).String() = %q, want %q", int64(in), got, want)
		}
		if in != 0 {
			back, err := ParseByteSize(want)
			if err != nil || back != in {
				t.Errorf("ParseByteSize(%q) = %d, %v; want %d", want, back, err, in)
			}
		}
	}
}
