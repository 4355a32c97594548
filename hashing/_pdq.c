/* PDQ, bit for bit as Meta's reference C++ computes it through the pdqhash binding, but
 * faster: the column passes of the Jarosz (tent) filter sweep rows with one running sum
 * per column instead of striding down each column (same additions in the same order,
 * so the same floats), and many crop windows of one picture share one luma conversion.
 *
 * Python-facing functions (buffers in, bytes out):
 *   pdq(rgb, height, width) -> (hash: 32 bytes, quality: int)
 *   pdq_boxes(rgb, height, width, boxes) -> (hashes: 32 * k bytes, qualities: bytes of int32[k])
 *       boxes: int32[k][4] as (top, left, bottom, right), each a crop of the picture
 * rgb is height x width x 3 uint8, C-contiguous. The hash bytes are in numpy.packbits order
 * of pdqhash.compute's bit vector (the hex Meta's tools print). The GIL is released.
 *
 * Floating point must not be contracted into FMAs (that would change roundings and so bits
 * near the median): the build passes -ffp-contract=off and this file says so again.
 */
#pragma GCC optimize("fp-contract=off")
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MIN_HASHABLE_DIM 5

static float dct_matrix[16 * 64];

static void init_dct(void) {
    const double pi = 3.14159265358979323846;
    const float scale = (float)sqrt(2.0 / 64.0);
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 64; j++)
            dct_matrix[i * 64 + j] =
                (float)(scale * cos((pi / 2.0 / 64.0) * (double)(i + 1) * (double)(2 * j + 1)));
}

static int window_size(int old_dim, int new_dim) { return (old_dim + 2 * new_dim - 1) / (2 * new_dim); }

/* Rows [r0, r0 + nr) (nr <= ROWS_AT_ONCE): Meta's box1DFloat with stride 1 on each row,
 * the rows advanced in lockstep so their running sums are independent chains the CPU can
 * overlap (one row alone is bound by the latency of add, subtract and divide). */
#define ROWS_AT_ONCE 8
static void box_rows(const float *in, float *out, int nr, int n, int full) {
    int half = (full + 2) / 2;
    int p1 = half - 1, p2 = full - half + 1, p3 = n - full, p4 = half - 1;
    int li = 0, ri = 0, oi = 0, cur = 0;
    float sum[ROWS_AT_ONCE] = {0};
    for (int i = 0; i < p1; i++, ri++, cur++)
        for (int r = 0; r < nr; r++) sum[r] += in[(size_t)r * n + ri];
    for (int i = 0; i < p2; i++, ri++, oi++) {
        cur++;
        for (int r = 0; r < nr; r++) {
            sum[r] += in[(size_t)r * n + ri];
            out[(size_t)r * n + oi] = sum[r] / cur;
        }
    }
    for (int i = 0; i < p3; i++, ri++, li++, oi++)
        for (int r = 0; r < nr; r++) {
            sum[r] += in[(size_t)r * n + ri];
            sum[r] -= in[(size_t)r * n + li];
            out[(size_t)r * n + oi] = sum[r] / cur;
        }
    for (int i = 0; i < p4; i++, li++, oi++) {
        cur--;
        for (int r = 0; r < nr; r++) {
            sum[r] -= in[(size_t)r * n + li];
            out[(size_t)r * n + oi] = sum[r] / cur;
        }
    }
}

/* All columns at once: box1DFloat down each column, one running sum per column, rows swept
 * in order (cache-friendly; per column the same operations in the same order). */
static void box_cols(const float *in, float *out, int rows, int cols, int full, float *sums) {
    int half = (full + 2) / 2;
    int p1 = half - 1, p2 = full - half + 1, p3 = rows - full, p4 = half - 1;
    int li = 0, ri = 0, oi = 0, cur = 0;
    for (int j = 0; j < cols; j++) sums[j] = 0.0f;
    for (int i = 0; i < p1; i++, ri++, cur++)
        for (int j = 0; j < cols; j++) sums[j] += in[(size_t)ri * cols + j];
    for (int i = 0; i < p2; i++, ri++, oi++) {
        cur++;
        for (int j = 0; j < cols; j++) {
            sums[j] += in[(size_t)ri * cols + j];
            out[(size_t)oi * cols + j] = sums[j] / cur;
        }
    }
    for (int i = 0; i < p3; i++, ri++, li++, oi++)
        for (int j = 0; j < cols; j++) {
            sums[j] += in[(size_t)ri * cols + j];
            sums[j] -= in[(size_t)li * cols + j];
            out[(size_t)oi * cols + j] = sums[j] / cur;
        }
    for (int i = 0; i < p4; i++, li++, oi++) {
        cur--;
        for (int j = 0; j < cols; j++) {
            sums[j] -= in[(size_t)li * cols + j];
            out[(size_t)oi * cols + j] = sums[j] / cur;
        }
    }
}

static int quality_metric(float a[64][64]) {
    int gradient_sum = 0;
    for (int i = 0; i < 63; i++)
        for (int j = 0; j < 64; j++) {
            float u = a[i][j], v = a[i + 1][j];
            int d = (int)(((u - v) * 100) / 255);
            gradient_sum += abs(d);
        }
    for (int i = 0; i < 64; i++)
        for (int j = 0; j < 63; j++) {
            float u = a[i][j], v = a[i][j + 1];
            int d = (int)(((u - v) * 100) / 255);
            gradient_sum += abs(d);
        }
    int quality = gradient_sum / 90;
    return quality > 100 ? 100 : quality;
}

static void dct64_to_16(float a[64][64], float t[16][64], float b[16][16]) {
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 64; j++) {
            const float *pd = &dct_matrix[i * 64];
            float sumk = 0.0f;
            for (int k = 0; k < 64; k++) sumk += pd[k] * a[k][j];
            t[i][j] = sumk;
        }
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++) {
            const float *pd = &dct_matrix[j * 64];
            float sumk = 0.0f;
            for (int k = 0; k < 64; k++) sumk += t[i][k] * pd[k];
            b[i][j] = sumk;
        }
}

/* Meta's torben median. */
static float torben(const float *m, int n) {
    int less, greater, equal;
    float min = m[0], max = m[0], guess, maxlt, mingt;
    for (int i = 1; i < n; i++) {
        if (m[i] < min) min = m[i];
        if (m[i] > max) max = m[i];
    }
    for (;;) {
        guess = (min + max) / 2;
        less = greater = equal = 0;
        maxlt = min;
        mingt = max;
        for (int i = 0; i < n; i++) {
            if (m[i] < guess) {
                less++;
                if (m[i] > maxlt) maxlt = m[i];
            } else if (m[i] > guess) {
                greater++;
                if (m[i] < mingt) mingt = m[i];
            } else {
                equal++;
            }
        }
        if (less <= (n + 1) / 2 && greater <= (n + 1) / 2) break;
        if (less > greater)
            max = maxlt;
        else
            min = mingt;
    }
    if (less >= (n + 1) / 2) return maxlt;
    if (less + equal >= (n + 1) / 2) return guess;
    return mingt;
}

/* Bit k = i * 16 + j of Meta's Hash256; pdqhash lists bits 255..0, numpy packs MSB first. */
static void to_bytes(float b[16][16], uint8_t out[32]) {
    float median = torben(&b[0][0], 256);
    memset(out, 0, 32);
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++)
            if (b[i][j] > median) {
                int k = i * 16 + j, pos = 255 - k;
                out[pos >> 3] |= (uint8_t)(0x80 >> (pos & 7));
            }
}

/* PDQ of the rows x cols luma in buf1 (overwritten), buf2 and sums as scratch. */
static void pdq_luma(float *buf1, float *buf2, float *sums, int rows, int cols, uint8_t out[32],
                     int *quality) {
    static __thread float a[64][64], t[16][64], b[16][16];
    if (rows < MIN_HASHABLE_DIM || cols < MIN_HASHABLE_DIM) {
        memset(out, 0, 32);
        *quality = 0;
        return;
    }
    if (rows == 64 && cols == 64) {
        memcpy(a, buf1, sizeof a);
    } else {
        int wr = window_size(cols, 64), wc = window_size(rows, 64);
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < rows; i += ROWS_AT_ONCE) {
                int nr = rows - i < ROWS_AT_ONCE ? rows - i : ROWS_AT_ONCE;
                box_rows(buf1 + (size_t)i * cols, buf2 + (size_t)i * cols, nr, cols, wr);
            }
            box_cols(buf2, buf1, rows, cols, wc, sums);
        }
        for (int oi = 0; oi < 64; oi++) {
            int ii = (int)(((oi + 0.5) * rows) / 64);
            for (int oj = 0; oj < 64; oj++) {
                int jj = (int)(((oj + 0.5) * cols) / 64);
                a[oi][oj] = buf1[(size_t)ii * cols + jj];
            }
        }
    }
    *quality = quality_metric(a);
    dct64_to_16(a, t, b);
    to_bytes(b, out);
}

/* What pdqhash's binding computes in numpy: float64 weighted sum, then float32. */
static void luma_from_rgb(const uint8_t *rgb, size_t npix, float *luma) {
    for (size_t p = 0; p < npix; p++) {
        const uint8_t *px = rgb + 3 * p;
        luma[p] = (float)((double)px[0] * 0.299 + (double)px[1] * 0.587 + (double)px[2] * 0.114);
    }
}

static int check_rgb(Py_buffer *buf, int height, int width) {
    if (height <= 0 || width <= 0 || buf->len != (Py_ssize_t)height * width * 3) {
        PyErr_SetString(PyExc_ValueError, "rgb must be height x width x 3 bytes");
        return -1;
    }
    return 0;
}

static PyObject *py_pdq(PyObject *self, PyObject *args) {
    Py_buffer rgb;
    int height, width;
    if (!PyArg_ParseTuple(args, "y*ii", &rgb, &height, &width)) return NULL;
    if (check_rgb(&rgb, height, width)) {
        PyBuffer_Release(&rgb);
        return NULL;
    }
    size_t npix = (size_t)height * width;
    float *buf1 = malloc(npix * sizeof(float)), *buf2 = malloc(npix * sizeof(float));
    float *sums = malloc((size_t)width * sizeof(float));
    if (!buf1 || !buf2 || !sums) {
        free(buf1), free(buf2), free(sums);
        PyBuffer_Release(&rgb);
        return PyErr_NoMemory();
    }
    uint8_t out[32];
    int quality;
    Py_BEGIN_ALLOW_THREADS
    luma_from_rgb(rgb.buf, npix, buf1);
    pdq_luma(buf1, buf2, sums, height, width, out, &quality);
    Py_END_ALLOW_THREADS
    free(buf1), free(buf2), free(sums);
    PyBuffer_Release(&rgb);
    return Py_BuildValue("(y#i)", (const char *)out, (Py_ssize_t)32, quality);
}

static PyObject *py_pdq_boxes(PyObject *self, PyObject *args) {
    Py_buffer rgb, boxes;
    int height, width;
    if (!PyArg_ParseTuple(args, "y*iiy*", &rgb, &height, &width, &boxes)) return NULL;
    PyObject *result = NULL;
    float *luma = NULL, *buf1 = NULL, *buf2 = NULL, *sums = NULL;
    uint8_t *hashes = NULL;
    int32_t *qualities = NULL;
    if (check_rgb(&rgb, height, width)) goto done;
    if (boxes.len % (4 * sizeof(int32_t))) {
        PyErr_SetString(PyExc_ValueError, "boxes must be int32 rows of 4");
        goto done;
    }
    Py_ssize_t k = boxes.len / (Py_ssize_t)(4 * sizeof(int32_t));
    const int32_t *bx = boxes.buf;
    for (Py_ssize_t b = 0; b < k; b++) {
        int top = bx[4 * b], left = bx[4 * b + 1], bottom = bx[4 * b + 2], right = bx[4 * b + 3];
        if (top < 0 || left < 0 || bottom > height || right > width || top >= bottom ||
            left >= right) {
            PyErr_Format(PyExc_ValueError, "box %zd (%d, %d, %d, %d) is not inside %dx%d", b, top,
                         left, bottom, right, height, width);
            goto done;
        }
    }
    size_t npix = (size_t)height * width;
    luma = malloc(npix * sizeof(float));
    buf1 = malloc(npix * sizeof(float));
    buf2 = malloc(npix * sizeof(float));
    sums = malloc((size_t)width * sizeof(float));
    hashes = malloc((size_t)(k ? k : 1) * 32);
    qualities = malloc((size_t)(k ? k : 1) * sizeof(int32_t));
    if (!luma || !buf1 || !buf2 || !sums || !hashes || !qualities) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    luma_from_rgb(rgb.buf, npix, luma);
    for (Py_ssize_t b = 0; b < k; b++) {
        int top = bx[4 * b], left = bx[4 * b + 1], bottom = bx[4 * b + 2], right = bx[4 * b + 3];
        int rows = bottom - top, cols = right - left;
        for (int i = 0; i < rows; i++)
            memcpy(buf1 + (size_t)i * cols, luma + (size_t)(top + i) * width + left,
                   (size_t)cols * sizeof(float));
        int q;
        pdq_luma(buf1, buf2, sums, rows, cols, hashes + 32 * b, &q);
        qualities[b] = q;
    }
    Py_END_ALLOW_THREADS
    result = Py_BuildValue("(y#y#)", (const char *)hashes, (Py_ssize_t)(32 * k),
                           (const char *)qualities, (Py_ssize_t)(k * sizeof(int32_t)));
done:
    free(luma), free(buf1), free(buf2), free(sums), free(hashes), free(qualities);
    PyBuffer_Release(&rgb);
    PyBuffer_Release(&boxes);
    return result;
}

static PyMethodDef methods[] = {
    {"pdq", py_pdq, METH_VARARGS, "pdq(rgb, height, width) -> (32-byte hash, quality)"},
    {"pdq_boxes", py_pdq_boxes, METH_VARARGS,
     "pdq_boxes(rgb, height, width, boxes int32[k][4]) -> (32*k bytes, int32[k] qualities)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_pdq", "PDQ as Meta's reference computes it, faster (hashing/pdq.py).",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__pdq(void) {
    init_dct();
    return PyModule_Create(&module);
}
