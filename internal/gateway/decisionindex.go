package gateway

// The decision store's index is an open-addressing hash table with linear
// probing: d.table holds slot numbers plus one (0 is empty) at the position
// of the hash of their key (org and request id), or the next free one after
// it. It holds no strings (keys are compared in the records themselves) and
// costs 4 to 12 bytes a decision where a map keyed by strings costs about 40
// and keeps each key's strings alive. Keys with equal hashes simply probe
// further.
// It is kept at most two thirds full, so probes are short and always end.
// These methods are called with d.mu held.

// lookup returns the table position of the slot of org's request id, whose
// key hashes to h, or, when it is not stored, false.
func (d *decisionStore) lookup(org, id string, h uint32) (int, bool) {
	if len(d.table) == 0 {
		return 0, false
	}
	mask := len(d.table) - 1
	for p := int(h) & mask; ; p = (p + 1) & mask {
		v := d.table[p]
		if v == 0 {
			return 0, false
		}
		if i := int(v - 1); d.slots[i].hash == h && d.keyIs(i, org, id) {
			return p, true
		}
	}
}

// index adds slot i, whose key is not in the index yet. Every other slot
// of the ring is, so the index will hold len(d.slots) entries.
func (d *decisionStore) index(i int) {
	if len(d.slots)*3 > len(d.table)*2 {
		d.rehash(max(16, 2*len(d.table)))
	}
	d.place(uint32(i) + 1)
}

// place puts v (a slot plus one) at the first free position from its home.
func (d *decisionStore) place(v uint32) {
	mask := len(d.table) - 1
	p := int(d.slots[v-1].hash) & mask
	for d.table[p] != 0 {
		p = (p + 1) & mask
	}
	d.table[p] = v
}

// rehash moves the index to a table of n positions (a power of two).
func (d *decisionStore) rehash(n int) {
	old := d.table
	d.table = make([]uint32, n)
	for _, v := range old {
		if v != 0 {
			d.place(v)
		}
	}
}

// unindex removes slot i, which is in the index, by backward-shift
// deletion: entries after the hole that could sit in it move up, so no
// probe sequence is broken and no tombstones accumulate.
func (d *decisionStore) unindex(i int) {
	mask := len(d.table) - 1
	want := uint32(i) + 1
	p := int(d.slots[i].hash) & mask
	for d.table[p] != want {
		p = (p + 1) & mask
	}
	d.table[p] = 0
	for q := (p + 1) & mask; d.table[q] != 0; q = (q + 1) & mask {
		home := int(d.slots[d.table[q]-1].hash) & mask
		// The entry at q may fill the hole at p unless its home lies
		// (cyclically) after p, up to q.
		if (q-home)&mask >= (q-p)&mask {
			d.table[p], d.table[q] = d.table[q], 0
			p = q
		}
	}
}
