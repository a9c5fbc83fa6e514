/* W6 across crashes: a child process submits a form (each submission
 * enrolls its contact in a five-step workflow with a delay) and ticks the
 * engine through the journal; the parent SIGKILLs it at random moments,
 * reopens the journal, lets every enrollment finish and checks that no step
 * was applied twice and none was lost: every acknowledged submission's
 * contact is enrolled once, and each enrollment's history holds each step
 * exactly once, in order.
 *
 * HUBC_CRASH_SEED=<n> replays a run (the seed is printed). */
#define _DEFAULT_SOURCE

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hubcontacts.h"
#include "testutil.h"

#define ADMIN "admin@example.com"
#define KILLS 20
#define TIME_BUDGET_MS 8000
#define READY ((int64_t)-1)
#define STEP 30 /* clock seconds per submission in the child */
#define N_STEPS 5

static hubc_time clock_now;
static hubc_time clock_fn(void *payload) {
  (void)payload;
  return clock_now;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static uint64_t rng_state;
static uint32_t rnd(void) {
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(rng_state >> 33);
}

static hubc_store *open_at(const char *path, hubc_journal **j, int in_child) {
  hubc_journal_options o;
  hubc_journal_options_init(&o, HUBC_JOURNAL_OPTIONS_VERSION);
  o.fsync_policy = HUBC_FSYNC_EVERY_COMMIT;
  o.auto_compact_bytes = 32768; /* compactions get killed too */
  int rc = hubc_journal_open(j, path, &o);
  if (rc && in_child) _exit(3);
  if (rc) fail_msg("journal open: %d %s", rc, hubc_error_last());
  hubc_store_options so;
  hubc_store_options_init(&so, HUBC_STORE_OPTIONS_VERSION);
  so.clock = clock_fn;
  so.admin_email = ADMIN;
  so.subscription = HUBC_SUBSCRIPTION_PROFESSIONAL;
  so.persist = hubc_journal_persist(*j);
  hubc_store *s = NULL;
  rc = hubc_store_open(&s, &so);
  if (rc && in_child) {
    fprintf(stderr, "crash child: open: %d %s\n", rc, hubc_error_last());
    _exit(3);
  }
  if (rc) fail_msg("store open: %d %s", rc, hubc_error_last());
  return s;
}

static void put_num(int fd, int64_t v) {
  ssize_t w;
  do {
    w = write(fd, &v, 8);
  } while (w < 0 && errno == EINTR);
  if (w != 8) _exit(4);
}

static void child_run(const char *path, int64_t start, hubc_time base, int out) {
  clock_now = base;
  hubc_journal *j;
  hubc_store *s = open_at(path, &j, 1);
  put_num(out, READY);
  for (int64_t t = start;; t++) {
    clock_now += STEP;
    char email[64];
    snprintf(email, sizeof email, "c%" PRId64 "@x.io", t);
    const char *n[] = {"email"}, *v[] = {email};
    int rc = hubc_form_submit(NULL, NULL, s, 1, n, v, 1);
    if (rc) {
      fprintf(stderr, "crash child: submit %" PRId64 ": %d %s\n", t, rc, hubc_error_last());
      _exit(5);
    }
    put_num(out, t);
    if ((rc = hubc_store_tick(s))) {
      fprintf(stderr, "crash child: tick: %d %s\n", rc, hubc_error_last());
      _exit(6);
    }
  }
}

static void setup(const char *path) {
  hubc_journal *j;
  hubc_store *s = open_at(path, &j, 0);
  hubc_id form, wf;
  assert_int_equal(hubc_form_create(&form, s, 1, "Signup", NULL, NULL, NULL, 0), 0);
  assert_int_equal(hubc_form_set_marketing(s, 1, form, 0), 0);
  hubc_wf_action a[N_STEPS];
  const hubc_wf_action *p[N_STEPS];
  for (int i = 0; i < N_STEPS; i++) hubc_wf_action_init(&a[i], HUBC_WF_ACTION_VERSION), p[i] = &a[i];
  a[0].type = HUBC_WF_SET_PROPERTY, a[0].property = "jobtitle", a[0].value = "one";
  a[1].type = HUBC_WF_SET_STATUS, a[1].marketing = 1;
  a[2].type = HUBC_WF_DELAY, a[2].seconds = 60;
  a[3].type = HUBC_WF_SET_PROPERTY, a[3].property = "city", a[3].value = "two";
  a[4].type = HUBC_WF_SET_STATUS, a[4].marketing = 0;
  hubc_workflow_def d;
  hubc_workflow_def_init(&d, HUBC_WORKFLOW_DEF_VERSION);
  d.name = "Crash";
  d.trigger_form = form;
  d.actions = p;
  d.n_actions = N_STEPS;
  assert_int_equal(hubc_workflow_create(&wf, s, 1, &d), 0);
  assert_int_equal(hubc_workflow_activate(s, 1, wf), 0);
  hubc_store_close(s);
  hubc_journal_close(j);
}

/* One enrollment: finished, each step once and in order (W6). */
static void check_enrollment(hubc_store *s, const hubc_enrollment *e) {
  if (e->state != HUBC_ENROLLMENT_FINISHED)
    fail_msg("enrollment %" PRId64 " (contact %" PRId64 ") is in state %d at step %zu after the engine ran", e->id,
             e->contact, e->state, e->step);
  hubc_wf_log_iterator *it;
  assert_int_equal(hubc_wf_log_iterator_new(&it, s, e->id), 0);
  hubc_wf_log l;
  l.version = HUBC_WF_LOG_VERSION;
  size_t next = 0;
  int finished = 0;
  while (hubc_wf_log_iterator_next(&l, it) == 0) {
    if (l.event == HUBC_WF_LOG_DONE || l.event == HUBC_WF_LOG_WAITING) {
      if (l.step != next)
        fail_msg("enrollment %" PRId64 ": step %zu recorded where step %zu was next (applied twice or skipped)",
                 e->id, l.step, next);
      next++;
    } else if (l.event == HUBC_WF_LOG_FINISHED) {
      finished++;
    } else if (l.event != HUBC_WF_LOG_ENROLLED && l.event != HUBC_WF_LOG_FAILED) {
      fail_msg("enrollment %" PRId64 ": unexpected history event %d", e->id, l.event);
    }
  }
  hubc_wf_log_iterator_free(it);
  assert_int_equal(next, N_STEPS);
  assert_int_equal(finished, 1);
}

/* Reopens, runs the engine until every delay passed, checks. Returns the
 * clock the next child starts from. */
static hubc_time verify(const char *path, int64_t last, hubc_time t_end) {
  clock_now = t_end + 3600;
  hubc_journal *j;
  hubc_store *s = open_at(path, &j, 0);
  assert_int_equal(hubc_store_tick(s), 0);
  clock_now += 120;
  assert_int_equal(hubc_store_tick(s), 0);
  int64_t contacts = 0;
  for (int64_t t = 0; t <= last + 1; t++) {
    char email[64];
    snprintf(email, sizeof email, "c%" PRId64 "@x.io", t);
    hubc_id id = 0;
    int rc = hubc_contact_find(&id, s, email);
    if (rc && t <= last) fail_msg("acknowledged submission %" PRId64 " lost: %d %s", t, rc, hubc_error_last());
    if (rc) continue; /* the unacknowledged one did not commit */
    contacts++;
    hubc_enrollment_iterator *it;
    assert_int_equal(hubc_enrollment_iterator_new(&it, s, 1, id), 0);
    hubc_enrollment e;
    e.version = HUBC_ENROLLMENT_VERSION;
    int n = 0;
    while (hubc_enrollment_iterator_next(&e, it) == 0) n++, check_enrollment(s, &e);
    hubc_enrollment_iterator_free(it);
    if (n != 1) fail_msg("contact %s is enrolled %d times", email, n);
    hubc_contact *c;
    assert_int_equal(hubc_contact_get(&c, s, id), 0);
    assert_string_equal(hubc_contact_prop(c, "jobtitle"), "one");
    assert_string_equal(hubc_contact_prop(c, "city"), "two");
    assert_int_equal(hubc_contact_status(c), HUBC_MARKETING_UNTIL_UPDATE);
    hubc_contact_free(c);
  }
  hubc_enrollment_iterator *all;
  assert_int_equal(hubc_enrollment_iterator_new(&all, s, 0, 0), 0);
  hubc_enrollment e;
  e.version = HUBC_ENROLLMENT_VERSION;
  int64_t n = 0;
  while (hubc_enrollment_iterator_next(&e, all) == 0) n++;
  hubc_enrollment_iterator_free(all);
  assert_int_equal(n, contacts);
  hubc_store_close(s);
  hubc_journal_close(j);
  return clock_now + 1;
}

static void W6_crash_no_step_applied_twice_none_lost(void **state) {
  (void)state;
  const char *seed_env = getenv("HUBC_CRASH_SEED");
  uint64_t seed = seed_env ? strtoull(seed_env, NULL, 10) : (uint64_t)time(NULL) ^ (uint64_t)getpid() << 16;
  rng_state = seed;
  fprintf(stderr, "# workflow crash test seed %" PRIu64 " (HUBC_CRASH_SEED to replay)\n", seed);
  char dir[] = "/tmp/hubc-wfcrash-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[128];
  snprintf(path, sizeof path, "%s/j", dir);
  hubc_time base = tu_time(2024, 3, 1, 10, 0, 0);
  clock_now = base;
  setup(path);
  int64_t last = -1;
  int kills = 0;
  double start = now_ms();
  while (kills < KILLS && now_ms() - start < TIME_BUDGET_MS * tu_time_factor()) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    int64_t first = last + 1;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      close(fds[0]);
      child_run(path, first, base, fds[1]);
    }
    close(fds[1]);
    double delay = (5.0 + (double)(rnd() % 150)) * tu_time_factor(), t0 = now_ms();
    int ready = 0;
    unsigned char carry[8];
    size_t nc = 0;
    for (int alive = 1; alive && (!ready || now_ms() - t0 < delay);) {
      struct pollfd pfd = {fds[0], POLLIN, 0};
      if (poll(&pfd, 1, 5) <= 0) {
        if (!ready && now_ms() - t0 > 10000 * tu_time_factor()) fail_msg("the child did not open the store");
        continue;
      }
      unsigned char buf[4096];
      ssize_t got = read(fds[0], buf, sizeof buf);
      if (got <= 0) {
        alive = got < 0 && errno == EINTR;
        continue;
      }
      for (ssize_t i = 0; i < got; i++) {
        carry[nc++] = buf[i];
        if (nc < 8) continue;
        int64_t v;
        memcpy(&v, carry, 8);
        nc = 0;
        if (v == READY) ready = 1, t0 = now_ms();
        else assert_true(v == last + 1), last = v;
      }
    }
    kill(pid, SIGKILL);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    for (;;) { /* what the child wrote before it died */
      unsigned char buf[4096];
      ssize_t got = read(fds[0], buf, sizeof buf);
      if (got <= 0) break;
      for (ssize_t i = 0; i < got; i++) {
        carry[nc++] = buf[i];
        if (nc < 8) continue;
        int64_t v;
        memcpy(&v, carry, 8);
        nc = 0;
        if (v != READY) assert_true(v == last + 1), last = v;
      }
    }
    close(fds[0]);
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
      fail_msg("the child ended by itself (status 0x%x): see its message above", status);
    kills++;
    /* the child's clock: base + STEP per submission it started (one more than it acknowledged at most) */
    base = verify(path, last, base + (last + 2 - first) * STEP);
  }
  fprintf(stderr, "# workflow crash test: %d kills in %.1f s, %" PRId64 " submissions acknowledged\n", kills,
          (now_ms() - start) / 1000.0, last + 1);
  assert_true(kills >= 5);
  assert_true(last > 20);
  char cmd[64];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(W6_crash_no_step_applied_twice_none_lost),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
