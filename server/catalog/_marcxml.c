/* MARCXML of a stored ISO 2709 record, written in C: the hot loop of SRU and OAI-PMH responses.
 *
 * render(data, prefix, skip, extra) gives exactly what server.catalog.marcio's Python writer gives for a record
 * laid out as the catalog stores it (fields one after the other in directory order, valid UTF-8, ASCII
 * letter-or-digit tags, ASCII leader and indicators, ASCII subfield codes), and None for anything else, which
 * the Python writer then handles. ``skip`` is the tags to leave out, three characters each, one after the
 * other; ``extra`` is written before the closing tag. tests/catalog/test_marcxml_writer.py holds the two
 * writers to the same output.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define NS "http://www.loc.gov/MARC21/slim"

typedef struct {
    char *buf;
    Py_ssize_t len;
    Py_ssize_t cap;
} Out;

static int grow(Out *out, Py_ssize_t more) {
    if (out->len + more <= out->cap) {
        return 0;
    }
    Py_ssize_t cap = out->cap * 2;
    if (cap < out->len + more) {
        cap = out->len + more + 1024;
    }
    char *buf = PyMem_Realloc(out->buf, (size_t)cap);
    if (buf == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    out->buf = buf;
    out->cap = cap;
    return 0;
}

static int put(Out *out, const char *text, Py_ssize_t size) {
    if (grow(out, size) < 0) {
        return -1;
    }
    memcpy(out->buf + out->len, text, (size_t)size);
    out->len += size;
    return 0;
}

static int put_str(Out *out, const char *text) { return put(out, text, (Py_ssize_t)strlen(text)); }

/* As xml_text: the C0 controls XML 1.0 forbids (all but tab, newline, return) and U+FFFE, U+FFFF dropped;
 * & < > " escaped. The text is valid UTF-8 (checked before). */
static int put_text(Out *out, const unsigned char *text, Py_ssize_t size) {
    if (grow(out, size * 6) < 0) {
        return -1;
    }
    char *w = out->buf + out->len;
    for (Py_ssize_t i = 0; i < size; i++) {
        unsigned char c = text[i];
        if (c < 0x20) {
            if (c == '\t' || c == '\n' || c == '\r') {
                *w++ = (char)c;
            }
            continue;
        }
        switch (c) {
        case '&':
            memcpy(w, "&amp;", 5);
            w += 5;
            break;
        case '<':
            memcpy(w, "&lt;", 4);
            w += 4;
            break;
        case '>':
            memcpy(w, "&gt;", 4);
            w += 4;
            break;
        case '"':
            memcpy(w, "&quot;", 6);
            w += 6;
            break;
        case 0xEF: /* U+FFFE and U+FFFF are EF BF BE and EF BF BF */
            if (i + 2 < size && text[i + 1] == 0xBF && (text[i + 2] == 0xBE || text[i + 2] == 0xBF)) {
                i += 2;
                break;
            }
            *w++ = (char)c;
            break;
        default:
            *w++ = (char)c;
        }
    }
    out->len = w - out->buf;
    return 0;
}

/* Whether Python's strict UTF-8 decoder accepts the bytes (no overlong forms, surrogates or code points past
 * U+10FFFF). */
static int valid_utf8(const unsigned char *s, Py_ssize_t n) {
    Py_ssize_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
        } else if (c >= 0xC2 && c <= 0xDF) {
            if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80) {
                return 0;
            }
            i += 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            if (i + 2 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80) {
                return 0;
            }
            if ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] > 0x9F)) {
                return 0;
            }
            i += 3;
        } else if (c >= 0xF0 && c <= 0xF4) {
            if (i + 3 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 ||
                (s[i + 3] & 0xC0) != 0x80) {
                return 0;
            }
            if ((c == 0xF0 && s[i + 1] < 0x90) || (c == 0xF4 && s[i + 1] > 0x8F)) {
                return 0;
            }
            i += 4;
        } else {
            return 0;
        }
    }
    return 1;
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static int is_alnum(unsigned char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* The number written in ``size`` ASCII digits, or -1. */
static Py_ssize_t number(const unsigned char *s, int size) {
    Py_ssize_t value = 0;
    for (int i = 0; i < size; i++) {
        if (!is_digit(s[i])) {
            return -1;
        }
        value = value * 10 + (s[i] - '0');
    }
    return value;
}

/* A subfield code as the Python writer writes it: a letter or digit as it is, a character XML forbids as a
 * blank, anything else escaped. 0 for a code it leaves to the Python writer (not ASCII). */
static int put_code(Out *out, unsigned char code) {
    if (code >= 0x80) {
        return 0;
    }
    if (is_alnum(code)) {
        return put(out, (const char *)&code, 1) < 0 ? -1 : 1;
    }
    if (code < 0x20 && code != '\t' && code != '\n' && code != '\r') {
        return put(out, " ", 1) < 0 ? -1 : 1;
    }
    return put_text(out, &code, 1) < 0 ? -1 : 1;
}

/* The data field ``text`` (indicators, then subfields each after 0x1F). 1 done, 0 left to Python, -1 error. */
static int put_datafield(Out *out, const char *p, const unsigned char *tag, const unsigned char *text,
                         Py_ssize_t size) {
    const unsigned char *end = text + size;
    const unsigned char *first = memchr(text, 0x1F, (size_t)size);
    Py_ssize_t raw = (first == NULL ? end : first) - text;
    char ind[2] = {' ', ' '};
    for (int k = 0; k < 2 && k < raw; k++) {
        if (text[k] >= 0x80) {
            return 0; /* a letter outside ASCII is an indicator to Python's str.isalnum */
        }
        if (is_alnum(text[k])) {
            ind[k] = (char)text[k];
        }
    }
    char head[160];
    int n = PyOS_snprintf(head, sizeof head, "<%sdatafield tag=\"%.3s\" ind1=\"%c\" ind2=\"%c\">", p,
                          (const char *)tag, ind[0], ind[1]);
    if (put(out, head, n) < 0) {
        return -1;
    }
    const unsigned char *part = first;
    while (part != NULL) {
        part++; /* past 0x1F */
        const unsigned char *next = memchr(part, 0x1F, (size_t)(end - part));
        const unsigned char *stop = next == NULL ? end : next;
        if (stop > part) {
            if (put_str(out, "<") < 0 || put_str(out, p) < 0 || put_str(out, "subfield code=\"") < 0) {
                return -1;
            }
            int done = put_code(out, part[0]);
            if (done <= 0) {
                return done;
            }
            if (put_str(out, "\">") < 0 || put_text(out, part + 1, stop - part - 1) < 0 ||
                put_str(out, "</") < 0 || put_str(out, p) < 0 || put_str(out, "subfield>") < 0) {
                return -1;
            }
        }
        part = next;
    }
    if (put_str(out, "</") < 0 || put_str(out, p) < 0 || put_str(out, "datafield>") < 0) {
        return -1;
    }
    return 1;
}

/* 1 done, 0 left to Python, -1 error. */
static int write_record(Out *out, const unsigned char *data, Py_ssize_t size, const char *prefix,
                        const unsigned char *skip, Py_ssize_t skip_size, const char *extra, Py_ssize_t extra_size) {
    if (size < 25) {
        return 0;
    }
    Py_ssize_t base = number(data + 12, 5);
    if (base < 25 || base > size - 1 || (base - 25) % 12) {
        return 0;
    }
    const unsigned char *directory = data + 24;
    Py_ssize_t count = (base - 25) / 12;
    const unsigned char *fields = data + base;
    Py_ssize_t fields_size = size - 1 - base;
    /* the layout: entries in order, one after the other, filling the record */
    Py_ssize_t position = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        const unsigned char *entry = directory + 12 * i;
        Py_ssize_t length = number(entry + 3, 4);
        if (length < 0 || number(entry + 7, 5) != position) {
            return 0;
        }
        for (int k = 0; k < 3; k++) {
            if (!is_alnum(entry[k])) {
                return 0;
            }
        }
        position += length;
    }
    if (position != fields_size) {
        return 0;
    }
    /* as many field terminators as fields, the last one ending the record */
    Py_ssize_t terminators = 0;
    for (const unsigned char *t = fields; (t = memchr(t, 0x1E, (size_t)(fields + fields_size - t))) != NULL; t++) {
        terminators++;
    }
    if (terminators != count || (count > 0 && fields[fields_size - 1] != 0x1E)) {
        return 0;
    }
    if (!valid_utf8(fields, fields_size)) {
        return 0;
    }
    for (int k = 0; k < 24; k++) {
        if (data[k] >= 0x80) {
            return 0;
        }
    }
    char p[80];
    if (strlen(prefix) > 64) {
        return 0;
    }
    PyOS_snprintf(p, sizeof p, "%s%s", prefix, prefix[0] ? ":" : "");
    if (put_str(out, "<") < 0 || put_str(out, p) < 0 || put_str(out, "record") < 0) {
        return -1;
    }
    if (prefix[0]) {
        if (put_str(out, " xmlns:") < 0 || put_str(out, prefix) < 0) {
            return -1;
        }
    } else if (put_str(out, " xmlns") < 0) {
        return -1;
    }
    if (put_str(out, "=\"" NS "\"><") < 0 || put_str(out, p) < 0 || put_str(out, "leader>") < 0 ||
        put_text(out, data, 24) < 0 || put_str(out, "</") < 0 || put_str(out, p) < 0 || put_str(out, "leader>") < 0) {
        return -1;
    }
    const unsigned char *text = fields;
    for (Py_ssize_t i = 0; i < count; i++) {
        const unsigned char *tag = directory + 12 * i;
        const unsigned char *stop = memchr(text, 0x1E, (size_t)(fields + fields_size - text));
        Py_ssize_t length = stop - text;
        int skipped = 0;
        for (Py_ssize_t s = 0; s + 3 <= skip_size; s += 3) {
            if (memcmp(skip + s, tag, 3) == 0) {
                skipped = 1;
                break;
            }
        }
        if (!skipped) {
            if (is_digit(tag[0]) && is_digit(tag[1]) && is_digit(tag[2]) && memcmp(tag, "010", 3) < 0) {
                char head[160];
                int n = PyOS_snprintf(head, sizeof head, "<%scontrolfield tag=\"%.3s\">", p, (const char *)tag);
                if (put(out, head, n) < 0 || put_text(out, text, length) < 0 || put_str(out, "</") < 0 ||
                    put_str(out, p) < 0 || put_str(out, "controlfield>") < 0) {
                    return -1;
                }
            } else {
                int done = put_datafield(out, p, tag, text, length);
                if (done <= 0) {
                    return done;
                }
            }
        }
        text = stop + 1;
    }
    if (put(out, extra, extra_size) < 0 || put_str(out, "</") < 0 || put_str(out, p) < 0 ||
        put_str(out, "record>") < 0) {
        return -1;
    }
    return 1;
}

static PyObject *render(PyObject *Py_UNUSED(module), PyObject *args) {
    Py_buffer data;
    const char *prefix;
    const char *skip;
    Py_ssize_t skip_size;
    const char *extra;
    Py_ssize_t extra_size;
    if (!PyArg_ParseTuple(args, "y*ss#s#:render", &data, &prefix, &skip, &skip_size, &extra, &extra_size)) {
        return NULL;
    }
    Out out = {NULL, 0, 0};
    int done = grow(&out, data.len * 3 + 256);
    if (done == 0) {
        done = write_record(&out, (const unsigned char *)data.buf, data.len, prefix, (const unsigned char *)skip,
                            skip_size, extra, extra_size);
    }
    PyBuffer_Release(&data);
    PyObject *result = NULL;
    if (done > 0) {
        result = PyUnicode_DecodeUTF8(out.buf, out.len, "strict");
    } else if (done == 0) {
        result = Py_NewRef(Py_None);
    }
    PyMem_Free(out.buf);
    return result;
}

static PyMethodDef methods[] = {
    {"render", render, METH_VARARGS,
     "render(data, prefix, skip, extra) -> str | None: the MARCXML of a stored ISO 2709 record, or None for a "
     "record laid out otherwise."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_marcxml",
    .m_doc = "MARCXML of stored ISO 2709 records, written in C.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__marcxml(void) { return PyModule_Create(&module); }
