/* http1: HTTP/1.x on the wire, without I/O or allocation. A request and a
 * response head parser (pointers into the caller's bytes), stream framers
 * for each direction that say which bytes are a head, a body or must pass
 * through untouched, a head rewriter (remove/set header lines, everything
 * else kept byte for byte) and a small response builder. Used by the
 * plain-socket and OpenSSL-plaintext layers and by tests; pure code with a
 * fuzz target (tests/fuzz/fuzz_http1.c). */
#ifndef HFS_HTTP1_H
#define HFS_HTTP1_H
#include <stddef.h>

#include "request.h" /* struct hfs_header */

/* A head (start line through the blank line, leading empty lines
 * included) longer than this is refused. */
#define HFS_HTTP1_MAX_HEAD 65536
/* Header lines a stream keeps per head; more makes the head malformed. */
#define HFS_HTTP1_STREAM_MAXHDRS 256
/* Requests whose responses a response stream can wait for at once. */
#define HFS_HTTP1_MAX_PENDING 64
/* Edits one hfs_http1_rewrite_head call accepts. */
#define HFS_HTTP1_MAX_EDITS 64

/* Returned by hfs_http1_parse_request_head for the HTTP/2 connection
 * preface ("PRI * HTTP/2.0\r\n..."): not HTTP/1, pass it through. */
#define HFS_HTTP1_H2 (-2)

/* A parsed head. Every pointer points into the parsed buffer; a part
 * that is absent is NULL with length 0 unless said otherwise. */
struct hfs_http1_head {
    /* request line */
    const char *method;
    size_t method_len;
    const char *target; /* as sent */
    size_t target_len;
    const char *authority; /* absolute-form "host[:port]", CONNECT's target */
    size_t authority_len;
    const char *path;  /* up to '?' or '#'; "*" for asterisk-form; an */
    size_t path_len;   /* absolute-form target without a path: length 0 */
    const char *query; /* after '?' up to '#'; NULL when there is no '?' */
    size_t query_len;
    /* status line */
    int status;         /* 100..999 */
    const char *reason; /* may be empty (not NULL) */
    size_t reason_len;
    int minor; /* HTTP/1.<minor>, 0..9 */
    /* header lines in order, value trimmed of leading/trailing SP/HTAB */
    struct hfs_header *headers;
    size_t nheaders;
    /* layout, as offsets into the buffer */
    size_t start;     /* the start line (after leading empty lines) */
    size_t hdr_start; /* the first header line (= end of the start line) */
    size_t hdr_end;   /* the blank line that ends the head */
    size_t len;       /* the whole head, blank line included */
    /* framing */
    long long content_length; /* -1: none, or overridden by Transfer-Encoding */
    int transfer_encoding;    /* a Transfer-Encoding header is present */
    int chunked;              /* ... and its last coding is "chunked" */
    int cl_overridden;        /* Content-Length and Transfer-Encoding both sent:
                               * TE wins (RFC 9112 6.3); a forwarder should
                               * REMOVE the Content-Length (see note) */
    int expect_continue;      /* Expect: 100-continue */
    int connection_close;     /* "close" in Connection, or HTTP/1.0 without keep-alive */
    int upgrade;              /* request: Upgrade header or CONNECT; response: 101 */
    const char *note;         /* static text on something tolerated but odd, or NULL */
};

/* Parses a request head at the start of buf. Returns its length (> 0) when
 * complete, 0 when the bytes so far are a valid beginning of a head,
 * HFS_HTTP1_H2 for the HTTP/2 preface, or -1 when malformed, with *why
 * (if why is not NULL) set to static text. Checks as bytes arrive, so a
 * non-HTTP protocol is refused early. hdrs[0..maxhdrs) receives the header
 * lines (h->headers = hdrs); more lines than maxhdrs is malformed. bytes
 * after the head (a body, the next request) are not looked at.
 * Tolerated: leading empty lines, bare LF line ends, any header-name
 * casing, runs of SP/HTAB in the request line and around values, identical
 * repeated Content-Length values. Refused: NUL anywhere, bare CR, control
 * characters, whitespace before a header's colon, obs-fold, differing or
 * non-numeric Content-Length, Transfer-Encoding whose last coding is not
 * chunked or in HTTP/1.0, more than one Host, versions other than 1.x, a
 * head over HFS_HTTP1_MAX_HEAD. */
int hfs_http1_parse_request_head(const char *buf, size_t len, struct hfs_http1_head *h, struct hfs_header *hdrs,
                                 size_t maxhdrs, const char **why);

/* The same for a response head ("HTTP/1.x NNN reason"; the reason may be
 * missing). A Transfer-Encoding without chunked last (or in HTTP/1.0) is
 * not an error here: the body then runs until the connection closes. */
int hfs_http1_parse_response_head(const char *buf, size_t len, struct hfs_http1_head *h, struct hfs_header *hdrs,
                                  size_t maxhdrs, const char **why);

/* 1 when a response with this status to a request with this method has a
 * message body; 0 for HEAD, 1xx, 204, 304 and a 2xx to CONNECT (a tunnel). */
int hfs_http1_response_has_body(const char *method, size_t method_len, int status);

/* The why of a head refused only for its size (over HFS_HTTP1_MAX_HEAD):
 * compare the pointer. */
extern const char hfs_http1_too_big[];

/* Stream framers ------------------------------------------------------- */

enum hfs_http1_event_kind {
    HFS_HTTP1_NEED_MORE,   /* every input byte consumed, nothing to report */
    HFS_HTTP1_HEAD,        /* a complete head: data/len (the stream's copy) and head */
    HFS_HTTP1_BODY,        /* data/len: body bytes as on the wire (chunk framing included) */
    HFS_HTTP1_END,         /* the message is complete; no data */
    HFS_HTTP1_PASSTHROUGH, /* data/len pass untouched; so does everything after */
};

enum hfs_http1_pass {
    HFS_HTTP1_PASS_NO,        /* still framing */
    HFS_HTTP1_PASS_MALFORMED, /* a head or chunked body this module refuses */
    HFS_HTTP1_PASS_HTTP2,     /* HTTP/2 connection preface */
    HFS_HTTP1_PASS_TUNNEL,    /* after a CONNECT/Upgrade request, a 101 or a 2xx to CONNECT */
    HFS_HTTP1_PASS_CLOSED,    /* hfs_http1_stream_finish released a partial head */
    HFS_HTTP1_PASS_FORCED,    /* hfs_http1_stream_passthrough */
};

struct hfs_http1_event {
    enum hfs_http1_event_kind kind;
    const char *data; /* NULL for NEED_MORE and END */
    size_t len;
    const struct hfs_http1_head *head; /* HEAD: the parsed head (pointers into data) */
    enum hfs_http1_pass pass;          /* PASSTHROUGH: why */
    const char *why;                   /* PASSTHROUGH: static text; END at finish: NULL */
};

/* One direction of one connection. Large (the head buffer is inside):
 * allocate it once per connection, not on a small stack. Fields are
 * private. */
struct hfs_http1_stream {
    int response; /* 0: request direction, 1: response direction */
    int state;
    enum hfs_http1_pass pass;
    const char *pass_why;
    size_t held;                  /* head bytes buffered so far */
    size_t parsed_at;             /* held when the head was last parsed */
    int line_ok;                  /* the start line of the buffered head is complete and valid */
    unsigned long long remaining; /* Content-Length or chunk bytes left */
    int chunk_digits;
    int cur_method; /* response: method class of the request answered */
    unsigned char pending[HFS_HTTP1_MAX_PENDING];
    unsigned pend_head, pend_count;
    int pend_overflow;
    struct hfs_http1_head head;
    struct hfs_header hdrs[HFS_HTTP1_STREAM_MAXHDRS];
    char buf[HFS_HTTP1_MAX_HEAD];
};

/* response: 0 frames requests (what an application writes), 1 frames
 * responses (what it reads). */
void hfs_http1_stream_init(struct hfs_http1_stream *s, int response);

/* Consumes a prefix of data[0..len) and reports one event. Returns the
 * number of bytes consumed; call again with the rest (len may be 0) until
 * the event is NEED_MORE, which comes only once all of data is consumed.
 * Head bytes are consumed into the stream's buffer (NEED_MORE) and come
 * back in the HEAD event, or in a PASSTHROUGH event if the head turns out
 * malformed. The data of HEAD, BODY and PASSTHROUGH events, concatenated
 * in order, equals the input: nothing is lost, duplicated or reordered.
 * Request direction: a request without Content-Length or chunked has no
 * body; after the head of a CONNECT or Upgrade request, the preface of
 * HTTP/2 or anything malformed, the stream passes everything through
 * (PASSTHROUGH events, never parsed again). A HEAD event's pointers stay
 * valid through the message's BODY and END events. */
size_t hfs_http1_stream_feed(struct hfs_http1_stream *s, const char *data, size_t len, struct hfs_http1_event *ev);

/* Response direction: records the method of a request sent on the
 * connection, in order, so the response to it is framed right (HEAD: no
 * body, CONNECT + 2xx: tunnel). Interim 1xx responses do not use one up.
 * A response with none recorded is taken as answering a GET. Returns 0,
 * or -1 when HFS_HTTP1_MAX_PENDING are waiting (the stream then passes the
 * next response through, since it can no longer match them). */
int hfs_http1_stream_expect(struct hfs_http1_stream *s, const char *method, size_t method_len);

/* The connection was closed (or shut down in this direction). Reports in
 * ev what is left: PASSTHROUGH with the bytes of a partial head still
 * held, END for a response body read until close (or an END not yet
 * reported), else NEED_MORE (why says so when a message was cut short).
 * Call it until NEED_MORE. */
void hfs_http1_stream_finish(struct hfs_http1_stream *s, struct hfs_http1_event *ev);

/* Stops framing: held head bytes, if any, come back in the next
 * PASSTHROUGH event, then all input passes through. */
void hfs_http1_stream_passthrough(struct hfs_http1_stream *s);

/* How many of the next input bytes are body or pass-through bytes that
 * hfs_http1_stream_feed will return as they are (BODY or PASSTHROUGH)
 * without reaching a message boundary: the rest of a Content-Length body
 * or of a chunk's data, SIZE_MAX for a body read until close or a stream
 * passing through; 0 when the next bytes are a head or chunk framing. A
 * caller may feed any prefix of them. Lets a layer send body bytes first
 * and feed only what was sent. */
size_t hfs_http1_stream_passable(const struct hfs_http1_stream *s);

/* 1 when data starts like an HTTP/1.x request line: a method (1 to 32
 * characters A-Z, '-' or '_'), a space, then either a first line not over
 * yet (the parser stopped inside it) or a target, a space and "HTTP/". A
 * head that starts so but that the parser refuses is a request hfshim
 * cannot judge; one that does not (Redis, SMTP, TLS...) is another
 * protocol. */
int hfs_http1_looks_like_request(const char *data, size_t len);

/* HFS_HTTP1_PASS_NO while the stream frames, else why it passes through. */
enum hfs_http1_pass hfs_http1_stream_passing(const struct hfs_http1_stream *s);
/* 1 when the next byte fed starts a new message (nothing of one held). */
int hfs_http1_stream_at_start(const struct hfs_http1_stream *s);
/* Bytes of a head begun but not complete that the stream holds (0 when
 * none: at a message start, in a body, or passing through). */
size_t hfs_http1_stream_head_held(const struct hfs_http1_stream *s);

/* Head rewriting --------------------------------------------------------- */

enum hfs_http1_edit_kind {
    HFS_HTTP1_REMOVE, /* drop every line named name whose value satisfies pred */
    HFS_HTTP1_SET,    /* set the first line's value, drop the rest; append if none */
};

struct hfs_http1_edit {
    enum hfs_http1_edit_kind kind;
    const char *name; /* a header name (token), compared without case */
    size_t name_len;
    const char *value; /* SET: the new value (no CR, LF or NUL) */
    size_t value_len;
    /* REMOVE: NULL removes every line with the name; else only lines for
     * which pred returns non-zero (value trimmed as in hfs_header) */
    int (*pred)(void *ctx, const char *value, size_t len);
    void *ctx;
};

/* Writes head[0..len) (parsed into h by either head parser) with the
 * edits applied, in order, as if one after the other, to out. Lines no
 * edit touches, the start line, line ends and the blank line are kept
 * byte for byte; a set line keeps its name's spelling and line end and
 * becomes "Name: value"; an appended line goes before the blank line with
 * the line end of the line before it. Returns the new length, or -1 when
 * out is too small, an edit is invalid (bad name, CR/LF/NUL in a value,
 * more than HFS_HTTP1_MAX_EDITS) or h does not describe head. With no
 * edits the output equals the input. */
long hfs_http1_rewrite_head(const char *head, size_t len, const struct hfs_http1_head *h,
                            const struct hfs_http1_edit *edits, size_t nedits, char *out, size_t outcap);

/* Responses -------------------------------------------------------------- */

/* 1 when s[0..n) is a non-empty HTTP token (a valid header name or method). */
int hfs_http1_is_token(const char *s, size_t n);

/* The standard reason phrase of a common status code, "" for others. */
const char *hfs_http1_reason(int status);
/* The same, or "Status" for unknown codes (for an answer's status line). */
const char *hfs_reason_phrase(int status);

/* Writes a complete HTTP/1.1 response: status line (reason NULL: the
 * standard one), the given header lines in order, "Content-Length:
 * body_len" unless hdrs has a Content-Length or Transfer-Encoding, the
 * blank line and the body, which head_only leaves out (the response to a
 * HEAD). 1xx, 204 and 304 get no Content-Length and must have no body.
 * Returns the length written, or -1 (status outside 100..999, a header
 * name that is not a token, CR/LF/NUL in a value or the reason, or cap
 * too small). */
long hfs_http1_build_response(int status, const char *reason, const struct hfs_header *hdrs, size_t n, const char *body,
                              size_t body_len, int head_only, char *out, size_t cap);

#endif
