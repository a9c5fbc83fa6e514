/* libFuzzer target for the journal reader (R3).
 *
 * Input: [u16 LE header][snapshot bytes][log bytes]. The header's low 15
 * bits are the snapshot length (clamped to what is there; 0: no snapshot
 * file). Unless its top bit is set, the CRC of every well-framed record is
 * recomputed first, so mutations reach the record parser and the store's
 * loader instead of stopping at the checksum. Both files are
 * written to a private temp directory and opened with hubc_journal_open;
 * if that succeeds a store is opened on the journal. When the store opens,
 * the journal is compacted and reopened, and the second store must dump
 * exactly the same bytes as the first (compaction keeps what replay
 * gives). Before all that, a read-only open must leave both files as they
 * were and agree with the read-write open: the same result, the same torn
 * bytes and, when its store opens, the same dump. Must never crash, hang
 * or leak.
 *
 * Seeds: tests/fuzz/corpus/fuzz_journal/ (written by the r3_fuzz_seeds test
 * of tests/unit/test_persist_journal.c with HUBC_FUZZ_SEED_DIR set). */
#define _DEFAULT_SOURCE

#include <fcntl.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hubcontacts.h"
#include "journal/crc32c.h"

static char dir[64];
static char log_path[128];
static char snap_path[160];

/* Refuses single blocks above 64 MiB, as a host with a memory budget would;
 * the library must turn that into HUBC_ENOMEM. */
static void *capped_alloc(void *payload, void *ptr, size_t old_size, size_t new_size) {
  (void)payload;
  (void)old_size;
  if (new_size == 0) {
    free(ptr);
    return NULL;
  }
  return new_size > ((size_t)64 << 20) ? NULL : realloc(ptr, new_size);
}

static hubc_time fixed_clock(void *payload) {
  (void)payload;
  return (hubc_time)1700000000;
}

struct buf {
  char *p;
  size_t len, cap;
};

static int buf_write(void *payload, const char *data, size_t len) {
  struct buf *b = payload;
  if (b->len + len > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + len) cap *= 2;
    char *np = realloc(b->p, cap);
    if (!np) return 1;
    b->p = np;
    b->cap = cap;
  }
  if (len) memcpy(b->p + b->len, data, len);
  b->len += len;
  return 0;
}

static void put_file(const char *path, const uint8_t *p, size_t n) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) abort();
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) abort();
    p += w;
    n -= (size_t)w;
  }
  close(fd);
}

/* Rewrites the CRC of each complete frame, from the start of the file. */
static void fix_crcs(uint8_t *p, size_t n) {
  size_t off = 0;
  while (n - off >= 8) {
    uint32_t len = (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 | (uint32_t)p[off + 2] << 16 |
                   (uint32_t)p[off + 3] << 24;
    if (len == 0 || len > n - off - 8) break;
    uint32_t crc = hubc__crc32c(p + off + 8, len);
    for (int i = 0; i < 4; i++) p[off + 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
    off += 8 + (size_t)len;
  }
}

/* Opens journal + store and dumps; returns 0 when both opened, 1 when
 * the store did not, 2 when a read-only store opened but cannot be read
 * (an update date is due), else the journal open's error (negative). */
static int open_and_dump(hubc_journal **jout, struct buf *dump, int read_only) {
  hubc_journal_options o;
  hubc_journal_options_init(&o, HUBC_JOURNAL_OPTIONS_VERSION);
  o.fsync_policy = HUBC_FSYNC_NEVER;
  o.auto_compact_bytes = UINT64_MAX;
  o.read_only = read_only;
  hubc_journal *j = NULL;
  *jout = NULL;
  int rc = hubc_journal_open(&j, log_path, &o);
  if (rc != 0) {
    if (hubc_error_last()[0] == '\0') abort(); /* failures carry a message */
    return rc;
  }
  hubc_store_options so;
  hubc_store_options_init(&so, HUBC_STORE_OPTIONS_VERSION);
  so.alloc = capped_alloc; /* a stored id may ask for a huge table: expect ENOMEM, not an OOM kill */
  so.clock = fixed_clock;
  so.admin_email = "fuzz@example.com";
  so.persist = hubc_journal_persist(j);
  hubc_store *s = NULL;
  if (hubc_store_open(&s, &so) != 0) {
    *jout = j;
    return 1;
  }
  int drc = hubc_store_dump(s, buf_write, dump);
  /* documented (journal.h): on a read-only journal an update date that is
   * due needs a write, so reads fail, naming read-only */
  int due = read_only && drc == HUBC_EPERSIST && strstr(hubc_error_last(), "read-only");
  hubc_store_close(s);
  *jout = j;
  if (drc == 0) return 0;
  if (due) return 2;
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t torn_bytes(const hubc_journal *j) {
  hubc_journal_info i;
  memset(&i, 0, sizeof i);
  i.version = HUBC_JOURNAL_INFO_VERSION;
  if (hubc_journal_get_info(&i, j) != 0) abort();
  return i.torn_bytes;
}

/* Size and modification time of a file (-1: absent). */
static void file_state(const char *path, long long st_out[3]) {
  struct stat st;
  if (stat(path, &st) != 0) {
    st_out[0] = -1;
    st_out[1] = st_out[2] = 0;
    return;
  }
  st_out[0] = (long long)st.st_size;
  st_out[1] = (long long)st.st_mtim.tv_sec;
  st_out[2] = (long long)st.st_mtim.tv_nsec;
}

static void cleanup(void) {
  unlink(log_path);
  unlink(snap_path);
  rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "/tmp/hubc-fuzz-journal-XXXXXX");
    if (!mkdtemp(dir)) abort();
    snprintf(log_path, sizeof log_path, "%s/j", dir);
    snprintf(snap_path, sizeof snap_path, "%s/j.snap", dir);
    atexit(cleanup);
  }
  if (size < 2) return 0;
  size_t snap_len = (size_t)data[0] | (size_t)(data[1] & 0x7f) << 8;
  int raw = data[1] & 0x80;
  size -= 2;
  uint8_t *copy = malloc(size ? size : 1);
  if (!copy) abort();
  memcpy(copy, data + 2, size);
  if (snap_len > size) snap_len = size;
  if (!raw) {
    fix_crcs(copy, snap_len);
    fix_crcs(copy + snap_len, size - snap_len);
  }
  unlink(snap_path);
  if (snap_len) put_file(snap_path, copy, snap_len);
  put_file(log_path, copy + snap_len, size - snap_len);
  free(copy);

  hubc_journal *j = NULL;
  struct buf d0 = {NULL, 0, 0}, d1 = {NULL, 0, 0}, d2 = {NULL, 0, 0};
  long long log0[3], snap0[3], log1[3], snap1[3];
  file_state(log_path, log0);
  file_state(snap_path, snap0);
  int ro = open_and_dump(&j, &d0, 1);
  uint64_t ro_torn = j ? torn_bytes(j) : 0;
  hubc_journal_close(j);
  file_state(log_path, log1);
  file_state(snap_path, snap1);
  if (memcmp(log0, log1, sizeof log0) != 0 || memcmp(snap0, snap1, sizeof snap0) != 0) abort();

  int rw = open_and_dump(&j, &d1, 0);
  if ((ro < 0 || rw < 0) && ro != rw) abort(); /* the same verdict on the files */
  if (j && torn_bytes(j) != ro_torn) abort();
  if (ro == 0 && (rw != 0 || d0.len != d1.len || (d0.len && memcmp(d0.p, d1.p, d0.len) != 0)))
    abort(); /* a store that opens read-only is the one read-write gives */
  if (rw == 0) {
    if (hubc_journal_compact(j) != 0) abort(); /* what loaded must compact */
    hubc_journal_close(j);
    j = NULL;
    if (open_and_dump(&j, &d2, 0) != 0) abort();
    if (d1.len != d2.len || (d1.len && memcmp(d1.p, d2.p, d1.len) != 0)) abort();
  }
  hubc_journal_close(j);
  free(d0.p);
  free(d1.p);
  free(d2.p);
  return 0;
}
