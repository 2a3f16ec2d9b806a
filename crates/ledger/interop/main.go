// Interop checker: an independent implementation (golang.org/x/mod's
// sumdb/note and sumdb/tlog) checks what the Rust ledger produces, and
// produces notes, proofs and tiles for the Rust ledger to check.
//
//	interop verify  < vectors.json   checks Rust's vectors, exits 1 on any mismatch
//	interop produce <n>              prints vectors made by Go for n entries
//	interop follow <url> <vkey> [old-checkpoint-file]
//	                                 reads a live log over HTTP the way a
//	                                 monitor does, checks every tile and entry
//	                                 against its signed checkpoint, and that
//	                                 the log grew from an earlier checkpoint
//	                                 (a fork or a rollback fails)
package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type inclusion struct {
	Index int64    `json:"index"`
	Size  int64    `json:"size"`
	Root  string   `json:"root"`
	Proof []string `json:"proof"`
}

type consistency struct {
	Old     int64    `json:"old"`
	OldRoot string   `json:"old_root"`
	New     int64    `json:"new"`
	NewRoot string   `json:"new_root"`
	Proof   []string `json:"proof"`
}

type tile struct {
	Path string `json:"path"`
	Data string `json:"data"`
}

type changed struct {
	Old   int64    `json:"old"`
	New   int64    `json:"new"`
	Paths []string `json:"paths"`
}

type vectors struct {
	Vkey        string        `json:"vkey"`
	Note        string        `json:"note"`
	Entries     []string      `json:"entries"`
	Size        int64         `json:"size"`
	Root        string        `json:"root"`
	Inclusion   []inclusion   `json:"inclusion"`
	Consistency []consistency `json:"consistency"`
	Tiles       []tile        `json:"tiles"`
	Changed     []changed     `json:"changed"`
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "interop: "+format+"\n", args...)
	os.Exit(1)
}

func hashOf(s string) tlog.Hash {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != 32 {
		fail("bad hash %q", s)
	}
	var h tlog.Hash
	copy(h[:], b)
	return h
}

func b64(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

// store keeps Go's stored hashes for a sequence of records.
type store struct{ hashes []tlog.Hash }

func (s *store) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x < 0 || x >= int64(len(s.hashes)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = s.hashes[x]
	}
	return out, nil
}

func build(entries [][]byte) *store {
	s := &store{}
	for i, e := range entries {
		hs, err := tlog.StoredHashes(int64(i), e, s)
		if err != nil {
			fail("StoredHashes: %v", err)
		}
		s.hashes = append(s.hashes, hs...)
	}
	return s
}

// c2spPath turns Go's `tile/8/L/N` into the C2SP `tile/L/N`.
func c2spPath(t tlog.Tile) string {
	p := strings.TrimPrefix(t.Path(), "tile/8/")
	return "tile/" + strings.Replace(p, "data/", "entries/", 1)
}

func proofOf(hs []tlog.Hash) []string {
	out := []string{}
	for _, h := range hs {
		out = append(out, b64(h))
	}
	return out
}

func verify() {
	var v vectors
	if err := json.NewDecoder(os.Stdin).Decode(&v); err != nil {
		fail("decoding vectors: %v", err)
	}
	verifier, err := note.NewVerifier(v.Vkey)
	if err != nil {
		fail("Rust vkey rejected: %v", err)
	}
	n, err := note.Open([]byte(v.Note), note.VerifierList(verifier))
	if err != nil {
		fail("Rust signed note rejected: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[1] != strconv.FormatInt(v.Size, 10) || lines[2] != v.Root {
		fail("checkpoint text %q does not match size %d root %s", n.Text, v.Size, v.Root)
	}
	entries := [][]byte{}
	for _, e := range v.Entries {
		b, err := base64.StdEncoding.DecodeString(e)
		if err != nil {
			fail("bad entry")
		}
		entries = append(entries, b)
	}
	s := build(entries)
	root, err := tlog.TreeHash(int64(len(entries)), s)
	if err != nil || b64(root) != v.Root {
		fail("tree hash: Go computes %s, Rust says %s (%v)", b64(root), v.Root, err)
	}
	for _, p := range v.Inclusion {
		var proof tlog.RecordProof
		for _, h := range p.Proof {
			proof = append(proof, hashOf(h))
		}
		if err := tlog.CheckRecord(proof, p.Size, hashOf(p.Root), p.Index, tlog.RecordHash(entries[p.Index])); err != nil {
			fail("inclusion proof of %d in %d rejected: %v", p.Index, p.Size, err)
		}
	}
	for _, p := range v.Consistency {
		var proof tlog.TreeProof
		for _, h := range p.Proof {
			proof = append(proof, hashOf(h))
		}
		if err := tlog.CheckTree(proof, p.New, hashOf(p.NewRoot), p.Old, hashOf(p.OldRoot)); err != nil {
			fail("consistency proof %d -> %d rejected: %v", p.Old, p.New, err)
		}
	}
	for _, t := range v.Tiles {
		gt, err := tlog.ParseTilePath("tile/8/" + strings.TrimPrefix(t.Path, "tile/"))
		if err != nil {
			fail("tile path %s: %v", t.Path, err)
		}
		want, err := tlog.ReadTileData(gt, s)
		if err != nil {
			fail("ReadTileData %s: %v", t.Path, err)
		}
		if base64.StdEncoding.EncodeToString(want) != t.Data {
			fail("tile %s differs from Go's", t.Path)
		}
	}
	for _, c := range v.Changed {
		// sumdb's NewTiles also lists every intermediate partial width and
		// re-lists unchanged partial tiles (the Go checksum database serves
		// them all); a C2SP log only writes the tiles that changed, so keep
		// full tiles and the new partial tile of levels that grew.
		got := []string{}
		for _, t := range tlog.NewTiles(8, c.Old, c.New) {
			count := c.New >> (8 * uint(t.L))
			grew := count != c.Old>>(8*uint(t.L))
			if grew && (t.W == 256 || (t.N == count>>8 && int64(t.W) == count%256)) {
				got = append(got, c2spPath(t))
			}
		}
		if strings.Join(got, " ") != strings.Join(c.Paths, " ") {
			fail("tiles for %d -> %d: Go %v, Rust %v", c.Old, c.New, got, c.Paths)
		}
	}
	fmt.Println("OK")
}

func produce(count int64) {
	entries := [][]byte{}
	for i := int64(0); i < count; i++ {
		entries = append(entries, []byte(fmt.Sprintf("go entry %d", i)))
	}
	s := build(entries)
	root, err := tlog.TreeHash(count, s)
	if err != nil {
		fail("TreeHash: %v", err)
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, "go.example/log")
	if err != nil {
		fail("GenerateKey: %v", err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		fail("NewSigner: %v", err)
	}
	text := fmt.Sprintf("go.example/log\n%d\n%s\n", count, b64(root))
	msg, err := note.Sign(&note.Note{Text: text}, signer)
	if err != nil {
		fail("Sign: %v", err)
	}
	v := vectors{Vkey: vkey, Note: string(msg), Size: count, Root: b64(root), Changed: []changed{}}
	for _, e := range entries {
		v.Entries = append(v.Entries, base64.StdEncoding.EncodeToString(e))
	}
	for size := int64(1); size <= count; size++ {
		th, _ := tlog.TreeHash(size, s)
		for i := int64(0); i < size; i += 1 + size/7 {
			p, err := tlog.ProveRecord(size, i, s)
			if err != nil {
				fail("ProveRecord: %v", err)
			}
			v.Inclusion = append(v.Inclusion, inclusion{Index: i, Size: size, Root: b64(th), Proof: proofOf(p)})
		}
		for old := int64(1); old <= size; old += 1 + size/9 {
			oh, _ := tlog.TreeHash(old, s)
			p, err := tlog.ProveTree(size, old, s)
			if err != nil {
				fail("ProveTree: %v", err)
			}
			v.Consistency = append(v.Consistency, consistency{Old: old, OldRoot: b64(oh), New: size, NewRoot: b64(th), Proof: proofOf(p)})
		}
	}
	for _, t := range tlog.NewTiles(8, 0, count) {
		data, err := tlog.ReadTileData(t, s)
		if err != nil {
			fail("ReadTileData: %v", err)
		}
		v.Tiles = append(v.Tiles, tile{Path: c2spPath(t), Data: base64.StdEncoding.EncodeToString(data)})
	}
	if err := json.NewEncoder(os.Stdout).Encode(v); err != nil {
		fail("encoding: %v", err)
	}
}

// httpTiles reads C2SP tiles of a log over HTTP, for tlog's TileHashReader,
// which checks each tile against the signed tree before using it.
type httpTiles struct {
	base  string
	cache map[string][]byte
}

func (r *httpTiles) Height() int { return 8 }

func (r *httpTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		p := c2spPath(t)
		if d, ok := r.cache[p]; ok {
			out[i] = d
			continue
		}
		d, err := get(r.base + "/" + p)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

func (r *httpTiles) SaveTiles(tiles []tlog.Tile, data [][]byte) {
	for i, t := range tiles {
		r.cache[c2spPath(t)] = data[i]
	}
}

func get(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// openCheckpoint checks a checkpoint note's signature by the pinned key and
// returns its size and root hash.
func openCheckpoint(raw []byte, verifier note.Verifier) (int64, tlog.Hash) {
	n, err := note.Open(raw, note.VerifierList(verifier))
	if err != nil {
		fail("checkpoint not signed by the pinned key %s: %v", verifier.Name(), err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != verifier.Name() {
		fail("checkpoint text %q is not of log %s", n.Text, verifier.Name())
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 {
		fail("checkpoint size %q", lines[1])
	}
	return size, hashOf(lines[2])
}

func follow(base, vkey, oldPath string) {
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		fail("vkey rejected: %v", err)
	}
	raw, err := get(base + "/checkpoint")
	if err != nil {
		fail("%v", err)
	}
	size, root := openCheckpoint(raw, verifier)
	hr := tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, &httpTiles{base: base, cache: map[string][]byte{}})
	th, err := tlog.TreeHash(size, hr)
	if err != nil || th != root {
		fail("tree hash of the served tiles does not match the checkpoint: %v", err)
	}
	// Every entry, from its bundle, against the level-0 hashes the tiles
	// proved.
	for start := int64(0); start < size; start += 256 {
		w := size - start
		if w > 256 {
			w = 256
		}
		t := tlog.Tile{H: 8, L: -1, N: start / 256, W: int(w)}
		data, err := get(base + "/" + c2spPath(t))
		if err != nil {
			fail("%v", err)
		}
		for i := int64(0); i < w; i++ {
			if len(data) < 2 {
				fail("entry bundle %s is short", c2spPath(t))
			}
			n := int(data[0])<<8 | int(data[1])
			if len(data) < 2+n {
				fail("entry bundle %s is short", c2spPath(t))
			}
			entry := data[2 : 2+n]
			data = data[2+n:]
			hs, err := hr.ReadHashes([]int64{tlog.StoredHashIndex(0, start+i)})
			if err != nil || hs[0] != tlog.RecordHash(entry) {
				fail("entry %d does not match the tree (%v)", start+i, err)
			}
		}
		if len(data) != 0 {
			fail("entry bundle %s has trailing bytes", c2spPath(t))
		}
	}
	if oldPath != "" {
		old, err := os.ReadFile(oldPath)
		if err != nil {
			fail("%v", err)
		}
		oldSize, oldRoot := openCheckpoint(old, verifier)
		if oldSize > size {
			fail("the log shrank from %d to %d entries", oldSize, size)
		}
		if oldSize == 0 {
			fmt.Printf("OK %d\n", size)
			return
		}
		proof, err := tlog.ProveTree(size, oldSize, hr)
		if err != nil {
			fail("consistency proof %d -> %d: %v", oldSize, size, err)
		}
		if err := tlog.CheckTree(proof, size, root, oldSize, oldRoot); err != nil {
			fail("the log forked: checkpoint %d is not a prefix of %d: %v", oldSize, size, err)
		}
	}
	fmt.Printf("OK %d\n", size)
}

func main() {
	if (len(os.Args) == 4 || len(os.Args) == 5) && os.Args[1] == "follow" {
		old := ""
		if len(os.Args) == 5 {
			old = os.Args[4]
		}
		follow(os.Args[2], os.Args[3], old)
		return
	}
	if len(os.Args) == 2 && os.Args[1] == "verify" {
		verify()
		return
	}
	if len(os.Args) == 3 && os.Args[1] == "produce" {
		n, err := strconv.ParseInt(os.Args[2], 10, 64)
		if err != nil || n < 1 {
			fail("produce needs a positive count")
		}
		produce(n)
		return
	}
	fail("usage: interop verify < vectors.json | interop produce <n> | interop follow <url> <vkey> [old-checkpoint]")
}
