package chunk

import (
	"bytes"
	"errors"
	"testing"
)

func encodedHeader(hdr recordHeader) []byte {
	b := make([]byte, RecordHeaderSize)
	hdr.encode(b)
	return b
}

// resealed returns b with its header CRC recomputed, so a test can reach
// the field checks behind the CRC.
func resealed(b []byte) []byte {
	b = bytes.Clone(b)
	var crc [4]byte
	v := crc32c(b[:headerCRCOffset])
	crc[0], crc[1], crc[2], crc[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	copy(b[headerCRCOffset:], crc[:])
	return b
}

func TestDecodeHeader(t *testing.T) {
	data := []byte("some chunk bytes")
	good := chunkHeader(Sum(data), data)
	enc := encodedHeader(good)
	mutate := func(f func(b []byte)) []byte {
		b := bytes.Clone(enc)
		f(b)
		return b
	}
	cases := []struct {
		name  string
		in    []byte
		want  recordHeader
		valid bool
	}{
		{name: "chunk", in: enc, want: good, valid: true},
		{name: "tombstone", in: encodedHeader(tombstoneHeader(Sum(data))),
			want: tombstoneHeader(Sum(data)), valid: true},
		{name: "empty", in: nil},
		{name: "short", in: enc[:RecordHeaderSize-1]},
		{name: "zeros", in: make([]byte, RecordHeaderSize)},
		{name: "bad magic", in: resealed(mutate(func(b []byte) { b[0] ^= 1 }))},
		{name: "flipped hash bit", in: mutate(func(b []byte) { b[20] ^= 0x10 })},
		{name: "flipped crc bit", in: mutate(func(b []byte) { b[50] ^= 0x01 })},
		{name: "unknown kind", in: resealed(mutate(func(b []byte) { b[4] = 3 }))},
		{name: "reserved set", in: resealed(mutate(func(b []byte) { b[6] = 1 }))},
		{name: "tombstone with data", in: resealed(mutate(func(b []byte) { b[4] = 2 }))},
		{name: "too long", in: resealed(mutate(func(b []byte) { b[11] = 0x10 }))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeHeader(tc.in)
			if !tc.valid {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("got %+v, %v; want an error wrapping ErrCorrupt", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// packBytes returns a pack image holding a record for each of chunks.
func packBytes(chunks ...[]byte) []byte {
	var b []byte
	for _, c := range chunks {
		hdr := chunkHeader(Sum(c), c)
		b = append(b, encodedHeader(hdr)...)
		b = append(b, c...)
	}
	return b
}

func TestScanPack(t *testing.T) {
	one, two := []byte("first chunk"), bytes.Repeat([]byte("second"), 30000)
	img := packBytes(one, two)
	tomb := append(bytes.Clone(img), encodedHeader(tombstoneHeader(Sum(one)))...)
	badLast := bytes.Clone(img)
	badLast[len(badLast)-1] ^= 1
	cases := []struct {
		name    string
		in      []byte
		records int
		end     int
	}{
		{name: "empty", in: nil, records: 0, end: 0},
		{name: "two chunks", in: img, records: 2, end: len(img)},
		{name: "with tombstone", in: tomb, records: 3, end: len(tomb)},
		{name: "cut in data", in: img[:len(img)-5], records: 1, end: RecordHeaderSize + len(one)},
		{name: "cut in header", in: img[:RecordHeaderSize+len(one)+10], records: 1,
			end: RecordHeaderSize + len(one)},
		{name: "zeros after", in: append(bytes.Clone(img), make([]byte, 4096)...), records: 2,
			end: len(img)},
		{name: "bad data in last record", in: badLast, records: 1,
			end: RecordHeaderSize + len(one)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recs, end, stop := scanPack(bytes.NewReader(tc.in), int64(len(tc.in)))
			if len(recs) != tc.records || end != int64(tc.end) {
				t.Fatalf("got %d records ending at %d (%v), want %d ending at %d",
					len(recs), end, stop, tc.records, tc.end)
			}
			if (end < int64(len(tc.in))) != errors.Is(stop, ErrCorrupt) {
				t.Fatalf("stop %v does not match a cut at %d of %d", stop, end, len(tc.in))
			}
		})
	}
}

func FuzzDecodeRecord(f *testing.F) {
	one := []byte("first chunk")
	img := packBytes(one, []byte("second"))
	f.Add(img)
	f.Add(img[:len(img)-3])
	f.Add(encodedHeader(tombstoneHeader(Sum(one))))
	f.Add(make([]byte, RecordHeaderSize))
	f.Add([]byte("HTPK"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if hdr, err := decodeHeader(b); err == nil {
			if again := encodedHeader(hdr); !bytes.Equal(again, b[:RecordHeaderSize]) {
				t.Fatalf("re-encoding %+v gives %x, want %x", hdr, again, b[:RecordHeaderSize])
			}
		}

		recs, end, stop := scanPack(bytes.NewReader(b), int64(len(b)))
		if end > int64(len(b)) || (end < int64(len(b)) && stop == nil) {
			t.Fatalf("end %d of %d with stop %v", end, len(b), stop)
		}
		var next int64
		for _, r := range recs {
			if r.off != next {
				t.Fatalf("record at %d, want %d", r.off, next)
			}
			next = r.off + recordLen(int(r.hdr.length))
		}
		if next != end {
			t.Fatalf("records end at %d, scan says %d", next, end)
		}
	})
}
