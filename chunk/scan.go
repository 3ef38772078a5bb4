package chunk

import (
	"errors"
	"fmt"
	"io"
)

// scanWindow is how much of a pack one read brings in while scanning.
// Small records are then parsed from memory, and large ones cost one read
// per header.
const scanWindow = 64 << 10

// scannedRecord is one record found by scanPack.
type scannedRecord struct {
	off int64 // offset of the header
	hdr recordHeader
}

// scanPack reads the record headers of a pack of the given size. It
// returns the records in order and end, the offset just past the last
// good one. When end < size, stop tells why the record at end is bad (a
// torn write or corruption); it wraps ErrCorrupt unless reading failed.
//
// Only headers are read, plus the data of the final record, which is the
// one a crash most likely tore after its header landed. A bad record
// earlier, with a good header, is caught by the CRC check of Get.
func scanPack(r io.ReaderAt, size int64) (recs []scannedRecord, end int64, stop error) {
	w := window{r: r, size: size}
	for end < size {
		b, err := w.at(end, RecordHeaderSize)
		if err != nil {
			return recs, end, err
		}
		hdr, err := decodeHeader(b)
		if err != nil {
			return recs, end, fmt.Errorf("record at %d: %w", end, err)
		}
		next := end + recordLen(int(hdr.length))
		if next > size {
			return recs, end, fmt.Errorf("record at %d: %d data bytes run past the end: %w",
				end, hdr.length, ErrCorrupt)
		}
		recs = append(recs, scannedRecord{off: end, hdr: hdr})
		end = next
	}
	if n := len(recs); n > 0 {
		if err := checkData(r, recs[n-1]); err != nil {
			return recs[:n-1], recs[n-1].off, err
		}
	}
	return recs, end, nil
}

// checkData compares the data CRC of rec with its header.
func checkData(r io.ReaderAt, rec scannedRecord) error {
	data := make([]byte, rec.hdr.length)
	// A zero-length read is skipped: some readers report io.EOF for it.
	if len(data) > 0 {
		if _, err := r.ReadAt(data, rec.off+RecordHeaderSize); err != nil {
			return fmt.Errorf("record at %d: read data: %w", rec.off, err)
		}
	}
	if crc32c(data) != rec.hdr.dataCRC {
		return fmt.Errorf("record at %d: data crc mismatch: %w", rec.off, ErrCorrupt)
	}
	return nil
}

// window serves small reads from a buffered span of a file.
type window struct {
	r    io.ReaderAt
	size int64
	buf  []byte
	off  int64 // file offset of buf[0]
}

// at returns n bytes at off, or fewer if the file ends first, with an
// error wrapping ErrCorrupt when the bytes are short.
func (w *window) at(off int64, n int) ([]byte, error) {
	if off < w.off || off+int64(n) > w.off+int64(len(w.buf)) {
		if err := w.load(off); err != nil {
			return nil, err
		}
	}
	b := w.buf[off-w.off:]
	if len(b) < n {
		return b, fmt.Errorf("record at %d: header cut short at %d bytes: %w",
			off, len(b), ErrCorrupt)
	}
	return b[:n], nil
}

func (w *window) load(off int64) error {
	if w.buf == nil {
		w.buf = make([]byte, scanWindow)
	}
	w.buf = w.buf[:min(int64(cap(w.buf)), w.size-off)]
	w.off = off
	n, err := w.r.ReadAt(w.buf, off)
	w.buf = w.buf[:n]
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read pack at %d: %w", off, err)
	}
	return nil
}
