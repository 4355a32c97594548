/* Multi-index hashing (Norouzi, Punjani and Fleet, CVPR 2012) over binary codes, exact.
 *
 * The code is cut into m contiguous sub-codes. If two codes are within Hamming distance r,
 * then for any thresholds t_i with sum(t_i + 1) >= r + 1 some sub-code i is within t_i
 * (pigeonhole). Each sub-code has a table: a counting-sorted array of code positions with
 * an offsets array indexed by the sub-code's value. A query probes, in every table, all
 * values within t_i of its own sub-code, and verifies each candidate on the full code.
 * A candidate found by table i is reported only if no earlier table j < i would have found
 * it (its sub-code j is farther than t_j), so every neighbour comes out exactly once
 * without a "seen" set.
 *
 * Python-facing functions (buffers in, bytes out; no numpy C API so the build needs only
 * a C compiler and Python headers):
 *   build_table(codes, nbytes, start, width) -> (offsets: bytes of uint32[2^width + 1],
 *                                                ids: bytes of uint32[n])
 *   search(codes, nbytes, offsets_seq, ids_seq, starts, widths, queries, radius)
 *       -> (lims: bytes of int64[q + 1], labels: bytes of int64[k], dists: bytes of int32[k])
 *       every neighbour within radius (inclusive), per query sorted by (distance, label)
 *   scan(codes, nbytes, queries, radius) -> same result, by exhaustive scan
 * Codes are rows of nbytes bytes (nbytes a multiple of 8), bit 0 the most significant bit
 * of byte 0 (numpy.packbits order). The GIL is released while searching.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 8   /* codes up to 512 bits */
#define MAX_TABLES 64
#define PREFETCH_AHEAD 12

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define RADAR_CLONES __attribute__((target_clones("popcnt", "default")))
#else
#define RADAR_CLONES
#endif

static inline uint64_t load_be64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* The value of bits [start, start + width) of a code given as big-endian 64-bit words. */
static inline uint32_t sub_key(const uint64_t *words, int start, int width) {
    int w = start >> 6, off = start & 63;
    uint64_t mask = (width == 64) ? ~0ULL : ((1ULL << width) - 1);
    if (off + width <= 64) {
        return (uint32_t)((words[w] >> (64 - off - width)) & mask);
    }
    int low = off + width - 64; /* bits taken from the next word */
    uint64_t hi = words[w] & ((off == 0) ? ~0ULL : ((1ULL << (64 - off)) - 1));
    return (uint32_t)(((hi << low) | (words[w + 1] >> (64 - low))) & mask);
}

static inline void load_words(const uint8_t *code, int nwords, uint64_t *out) {
    for (int k = 0; k < nwords; k++) out[k] = load_be64(code + 8 * k);
}

static inline __attribute__((always_inline)) int distance_words(const uint64_t *a, const uint8_t *code, int nwords) {
    int d = 0;
    for (int k = 0; k < nwords; k++) d += __builtin_popcountll(a[k] ^ load_be64(code + 8 * k));
    return d;
}

static inline __attribute__((always_inline)) int popcount32(uint32_t x) {
    return __builtin_popcount(x);
}

/* ---- growable output ---- */
typedef struct {
    int64_t *labels;
    int32_t *dists;
    Py_ssize_t len, cap;
} Hits;

static int hits_push(Hits *h, int64_t label, int32_t dist) {
    if (h->len == h->cap) {
        Py_ssize_t cap = h->cap ? h->cap * 2 : 256;
        int64_t *l = realloc(h->labels, (size_t)cap * sizeof(int64_t));
        if (!l) return -1;
        h->labels = l;
        int32_t *d = realloc(h->dists, (size_t)cap * sizeof(int32_t));
        if (!d) return -1;
        h->dists = d;
        h->cap = cap;
    }
    h->labels[h->len] = label;
    h->dists[h->len] = dist;
    h->len++;
    return 0;
}

/* Sort hits [from, to) by (distance, label): insertion sort, since hit lists are short
 * and mostly produced in a near-sorted order; falls back to a merge via qsort if long. */
typedef struct {
    int32_t d;
    int64_t l;
} Pair;

static int pair_cmp(const void *a, const void *b) {
    const Pair *x = a, *y = b;
    if (x->d != y->d) return x->d < y->d ? -1 : 1;
    return (x->l > y->l) - (x->l < y->l);
}

static int sort_hits(Hits *h, Py_ssize_t from, Py_ssize_t to) {
    Py_ssize_t n = to - from;
    if (n < 2) return 0;
    Pair *tmp = malloc((size_t)n * sizeof(Pair));
    if (!tmp) return -1;
    for (Py_ssize_t k = 0; k < n; k++) {
        tmp[k].d = h->dists[from + k];
        tmp[k].l = h->labels[from + k];
    }
    qsort(tmp, (size_t)n, sizeof(Pair), pair_cmp);
    for (Py_ssize_t k = 0; k < n; k++) {
        h->dists[from + k] = tmp[k].d;
        h->labels[from + k] = tmp[k].l;
    }
    free(tmp);
    return 0;
}

static PyObject *result(Hits *h, int64_t *lims, Py_ssize_t nq) {
    /* "y#" turns a NULL pointer into None: no hits must still give empty bytes. */
    const char *labels = h->labels ? (const char *)h->labels : "";
    const char *dists = h->dists ? (const char *)h->dists : "";
    return Py_BuildValue("(y#y#y#)", (const char *)lims, (Py_ssize_t)((nq + 1) * sizeof(int64_t)),
                         labels, (Py_ssize_t)(h->len * sizeof(int64_t)), dists,
                         (Py_ssize_t)(h->len * sizeof(int32_t)));
}

/* ---- build_table ---- */
static PyObject *py_build_table(PyObject *self, PyObject *args) {
    Py_buffer codes;
    Py_ssize_t nbytes;
    int start, width;
    if (!PyArg_ParseTuple(args, "y*nii", &codes, &nbytes, &start, &width)) return NULL;
    if (nbytes <= 0 || nbytes % 8 || nbytes > 8 * MAX_WORDS || codes.len % nbytes ||
        width < 1 || width > 30 || start < 0 || start + width > nbytes * 8) {
        PyBuffer_Release(&codes);
        PyErr_SetString(PyExc_ValueError, "bad code width or sub-code bounds");
        return NULL;
    }
    Py_ssize_t n = codes.len / nbytes;
    if (n > (Py_ssize_t)UINT32_MAX - 1) {
        PyBuffer_Release(&codes);
        PyErr_SetString(PyExc_ValueError, "too many codes for 32-bit positions");
        return NULL;
    }
    size_t nkeys = (size_t)1 << width;
    uint32_t *offsets = calloc(nkeys + 1, sizeof(uint32_t));
    uint32_t *ids = malloc((size_t)(n ? n : 1) * sizeof(uint32_t));
    uint32_t *keys = malloc((size_t)(n ? n : 1) * sizeof(uint32_t));
    if (!offsets || !ids || !keys) {
        free(offsets), free(ids), free(keys);
        PyBuffer_Release(&codes);
        return PyErr_NoMemory();
    }
    int nwords = (int)(nbytes / 8), sorted = 0;
    const uint8_t *base = codes.buf;
    Py_BEGIN_ALLOW_THREADS
    uint64_t words[MAX_WORDS];
    for (Py_ssize_t i = 0; i < n; i++) {
        load_words(base + i * nbytes, nwords, words);
        keys[i] = sub_key(words, start, width);
        offsets[keys[i] + 1]++;
    }
    for (size_t k = 0; k < nkeys; k++) offsets[k + 1] += offsets[k];
    /* Stable counting sort: positions stay ascending inside a bucket. */
    uint32_t *fill = malloc(nkeys * sizeof(uint32_t));
    if (fill) {
        memcpy(fill, offsets, nkeys * sizeof(uint32_t));
        for (Py_ssize_t i = 0; i < n; i++) ids[fill[keys[i]]++] = (uint32_t)i;
        free(fill);
        sorted = 1;
    }
    free(keys);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&codes);
    if (!sorted) {
        free(offsets), free(ids);
        return PyErr_NoMemory();
    }
    PyObject *out = Py_BuildValue("(y#y#)", (const char *)offsets,
                                  (Py_ssize_t)((nkeys + 1) * sizeof(uint32_t)), (const char *)ids,
                                  (Py_ssize_t)(n * sizeof(uint32_t)));
    free(offsets), free(ids);
    return out;
}

/* ---- search ---- */
typedef struct {
    const uint32_t *offsets;
    const uint32_t *ids;
    int start, width, t;
} Table;

typedef struct {
    const uint8_t *codes;
    Py_ssize_t nbytes;
    int nwords;
    int ntables;
    Table tables[MAX_TABLES];
    int radius;
    /* per-query scratch */
    uint32_t *probes;
    size_t probes_cap;
    uint32_t *cands;
    size_t cands_cap;
} Search;

/* All values within Hamming distance t of key (t <= 4), written to s->probes. */
static int enumerate_probes(Search *s, uint32_t key, int width, int t, size_t *count) {
    size_t need = 1;
    size_t c = 1;
    for (int k = 1; k <= t; k++) {
        c = c * (size_t)(width - k + 1) / (size_t)k;
        need += c;
    }
    if (need > s->probes_cap) {
        uint32_t *p = realloc(s->probes, need * sizeof(uint32_t));
        if (!p) return -1;
        s->probes = p;
        s->probes_cap = need;
    }
    size_t n = 0;
    s->probes[n++] = key;
    for (int a = 0; t >= 1 && a < width; a++) {
        uint32_t ka = key ^ (1u << a);
        s->probes[n++] = ka;
        for (int b = a + 1; t >= 2 && b < width; b++) {
            uint32_t kb = ka ^ (1u << b);
            s->probes[n++] = kb;
            for (int c3 = b + 1; t >= 3 && c3 < width; c3++) {
                uint32_t kc = kb ^ (1u << c3);
                s->probes[n++] = kc;
                for (int d = c3 + 1; t >= 4 && d < width; d++) s->probes[n++] = kc ^ (1u << d);
            }
        }
    }
    *count = n;
    return 0;
}

static int ensure_cands(Search *s, size_t need) {
    if (need <= s->cands_cap) return 0;
    size_t cap = s->cands_cap ? s->cands_cap : 1024;
    while (cap < need) cap *= 2;
    uint32_t *c = realloc(s->cands, cap * sizeof(uint32_t));
    if (!c) return -1;
    s->cands = c;
    s->cands_cap = cap;
    return 0;
}

RADAR_CLONES
static int search_one(Search *s, const uint8_t *query, Hits *hits) {
    uint64_t q[MAX_WORDS];
    uint32_t qkeys[MAX_TABLES];
    load_words(query, s->nwords, q);
    for (int i = 0; i < s->ntables; i++)
        qkeys[i] = sub_key(q, s->tables[i].start, s->tables[i].width);
    for (int i = 0; i < s->ntables; i++) {
        const Table *tb = &s->tables[i];
        if (tb->t < 0) continue;
        size_t nprobes;
        if (enumerate_probes(s, qkeys[i], tb->width, tb->t, &nprobes)) return -1;
        /* Gather the candidate positions of every probed bucket. */
        size_t ncand = 0;
        for (size_t p = 0; p < nprobes; p++) {
            if (p + PREFETCH_AHEAD < nprobes)
                __builtin_prefetch(tb->offsets + s->probes[p + PREFETCH_AHEAD]);
            uint32_t lo = tb->offsets[s->probes[p]], hi = tb->offsets[s->probes[p] + 1];
            if (hi == lo) continue;
            if (ensure_cands(s, ncand + (hi - lo))) return -1;
            memcpy(s->cands + ncand, tb->ids + lo, (size_t)(hi - lo) * sizeof(uint32_t));
            ncand += hi - lo;
        }
        /* Verify on the full code; prefetch codes a few candidates ahead. */
        for (size_t c = 0; c < ncand; c++) {
            if (c + PREFETCH_AHEAD < ncand)
                __builtin_prefetch(s->codes + (size_t)s->cands[c + PREFETCH_AHEAD] * s->nbytes);
            const uint8_t *code = s->codes + (size_t)s->cands[c] * s->nbytes;
            int d = distance_words(q, code, s->nwords);
            if (d > s->radius) continue;
            /* Report once: skip if an earlier table also holds it within its threshold. */
            int earlier = 0;
            if (i > 0) {
                uint64_t w[MAX_WORDS];
                load_words(code, s->nwords, w);
                for (int j = 0; j < i && !earlier; j++) {
                    const Table *tj = &s->tables[j];
                    if (tj->t < 0) continue;
                    earlier = popcount32(sub_key(w, tj->start, tj->width) ^ qkeys[j]) <= tj->t;
                }
            }
            if (!earlier && hits_push(hits, (int64_t)s->cands[c], d)) return -1;
        }
    }
    return 0;
}

static PyObject *py_search(PyObject *self, PyObject *args) {
    Py_buffer codes, queries;
    Py_ssize_t nbytes;
    PyObject *offsets_seq, *ids_seq, *starts, *widths, *thresholds;
    int radius;
    if (!PyArg_ParseTuple(args, "y*nOOOOOy*i", &codes, &nbytes, &offsets_seq, &ids_seq, &starts,
                          &widths, &thresholds, &queries, &radius))
        return NULL;
    Search s;
    memset(&s, 0, sizeof s);
    Py_buffer bufs[2 * MAX_TABLES];
    int nbufs = 0;
    PyObject *out = NULL;
    int64_t *lims = NULL;
    Hits hits = {0};
    int failed = 0;

    Py_ssize_t m = PySequence_Size(offsets_seq);
    if (nbytes <= 0 || nbytes % 8 || nbytes > 8 * MAX_WORDS || codes.len % nbytes ||
        queries.len % nbytes || m < 1 || m > MAX_TABLES || PySequence_Size(ids_seq) != m ||
        PySequence_Size(starts) != m || PySequence_Size(widths) != m ||
        PySequence_Size(thresholds) != m) {
        PyErr_SetString(PyExc_ValueError, "inconsistent index arguments");
        goto done;
    }
    s.codes = codes.buf;
    s.nbytes = nbytes;
    s.nwords = (int)(nbytes / 8);
    s.ntables = (int)m;
    s.radius = radius;
    Py_ssize_t ncodes = codes.len / nbytes;
    for (Py_ssize_t i = 0; i < m; i++) {
        Table *tb = &s.tables[i];
        PyObject *o;
        o = PySequence_GetItem(starts, i);
        tb->start = o ? (int)PyLong_AsLong(o) : -1;
        Py_XDECREF(o);
        o = PySequence_GetItem(widths, i);
        tb->width = o ? (int)PyLong_AsLong(o) : -1;
        Py_XDECREF(o);
        o = PySequence_GetItem(thresholds, i);
        tb->t = o ? (int)PyLong_AsLong(o) : -2;
        Py_XDECREF(o);
        if (PyErr_Occurred()) goto done;
        if (tb->width < 1 || tb->width > 30 || tb->start < 0 ||
            tb->start + tb->width > nbytes * 8 || tb->t < -1 || tb->t > 4) {
            PyErr_SetString(PyExc_ValueError, "bad sub-code bounds or threshold (-1..4)");
            goto done;
        }
        o = PySequence_GetItem(offsets_seq, i);
        if (!o) goto done;
        int rc = PyObject_GetBuffer(o, &bufs[nbufs], PyBUF_SIMPLE);
        Py_DECREF(o);
        if (rc) goto done;
        nbufs++;
        if (bufs[nbufs - 1].len != (Py_ssize_t)((((size_t)1 << tb->width) + 1) * 4)) {
            PyErr_SetString(PyExc_ValueError, "offsets do not match the sub-code width");
            goto done;
        }
        tb->offsets = bufs[nbufs - 1].buf;
        o = PySequence_GetItem(ids_seq, i);
        if (!o) goto done;
        rc = PyObject_GetBuffer(o, &bufs[nbufs], PyBUF_SIMPLE);
        Py_DECREF(o);
        if (rc) goto done;
        nbufs++;
        if (bufs[nbufs - 1].len != ncodes * 4) {
            PyErr_SetString(PyExc_ValueError, "ids do not match the number of codes");
            goto done;
        }
        tb->ids = bufs[nbufs - 1].buf;
    }
    Py_ssize_t nq = queries.len / nbytes;
    lims = malloc((size_t)(nq + 1) * sizeof(int64_t));
    if (!lims) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    lims[0] = 0;
    for (Py_ssize_t k = 0; k < nq && !failed; k++) {
        Py_ssize_t from = hits.len;
        failed = search_one(&s, (const uint8_t *)queries.buf + k * nbytes, &hits) ||
                 sort_hits(&hits, from, hits.len);
        lims[k + 1] = hits.len;
    }
    Py_END_ALLOW_THREADS
    if (failed) {
        PyErr_NoMemory();
        goto done;
    }
    out = result(&hits, lims, nq);
done:
    for (int b = 0; b < nbufs; b++) PyBuffer_Release(&bufs[b]);
    PyBuffer_Release(&codes);
    PyBuffer_Release(&queries);
    free(s.probes), free(s.cands), free(hits.labels), free(hits.dists), free(lims);
    return out;
}

/* ---- scan: exhaustive, for small banks and very large radii ---- */
RADAR_CLONES
static int scan_one(const uint8_t *codes, Py_ssize_t n, Py_ssize_t nbytes, const uint8_t *query,
                    int radius, Hits *hits) {
    uint64_t q[MAX_WORDS];
    int nwords = (int)(nbytes / 8);
    load_words(query, nwords, q);
    for (Py_ssize_t i = 0; i < n; i++) {
        int d = distance_words(q, codes + i * nbytes, nwords);
        if (d <= radius && hits_push(hits, (int64_t)i, d)) return -1;
    }
    return 0;
}

static PyObject *py_scan(PyObject *self, PyObject *args) {
    Py_buffer codes, queries;
    Py_ssize_t nbytes;
    int radius;
    if (!PyArg_ParseTuple(args, "y*ny*i", &codes, &nbytes, &queries, &radius)) return NULL;
    PyObject *out = NULL;
    Hits hits = {0};
    int64_t *lims = NULL;
    int failed = 0;
    if (nbytes <= 0 || nbytes % 8 || nbytes > 8 * MAX_WORDS || codes.len % nbytes ||
        queries.len % nbytes) {
        PyErr_SetString(PyExc_ValueError, "bad code width");
        goto done;
    }
    Py_ssize_t n = codes.len / nbytes, nq = queries.len / nbytes;
    lims = malloc((size_t)(nq + 1) * sizeof(int64_t));
    if (!lims) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    lims[0] = 0;
    for (Py_ssize_t k = 0; k < nq && !failed; k++) {
        Py_ssize_t from = hits.len;
        failed = scan_one(codes.buf, n, nbytes, (const uint8_t *)queries.buf + k * nbytes, radius,
                          &hits) ||
                 sort_hits(&hits, from, hits.len);
        lims[k + 1] = hits.len;
    }
    Py_END_ALLOW_THREADS
    if (failed) {
        PyErr_NoMemory();
        goto done;
    }
    out = result(&hits, lims, nq);
done:
    PyBuffer_Release(&codes);
    PyBuffer_Release(&queries);
    free(hits.labels), free(hits.dists), free(lims);
    return out;
}

static PyMethodDef methods[] = {
    {"build_table", py_build_table, METH_VARARGS,
     "build_table(codes, nbytes, start, width) -> (offsets, ids) as bytes of uint32"},
    {"search", py_search, METH_VARARGS,
     "search(codes, nbytes, offsets, ids, starts, widths, thresholds, queries, radius) -> "
     "(lims int64, labels int64, distances int32) as bytes"},
    {"scan", py_scan, METH_VARARGS,
     "scan(codes, nbytes, queries, radius) -> (lims, labels, distances) as bytes"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_mih",
    "Exact multi-index hashing over binary codes (see matcher/mih.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__mih(void) { return PyModule_Create(&module); }
