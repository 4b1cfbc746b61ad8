/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_metrics.c - the metrics registry (metrics.h): counters,
 * histograms and families render in the Prometheus text format, a
 * family's series stay together under one HELP and TYPE even when two
 * modules register them, sparse series are left out, and counts made by
 * another process into a segment file under the metrics directory add
 * up in the render (how the CLI and the worker show on /metrics).
 */
#include <sys/wait.h>

#include "sycheck.h"
#include "synthia/metrics.h"

static void
colour_labels(sy_buf *b, int i)
{
    static const char *const names[] = {"red", "green", "blue"};
    sy_buf_puts(b, "colour=");
    sy_metrics_label(b, names[i]);
}

static sy_metric things = {.name = "t_things_total", .help = "Things.",
                           .labels = "store=\"a\""};
static sy_metric colours = {.name = "t_colours_total", .help = "Colours.",
                            .nseries = 3, .labeller = colour_labels,
                            .sparse = true};
static const double buckets[] = {0.001, 0.01};
static sy_metric waits = {.name = "t_wait_seconds", .help = "Waits.",
                          .type = SY_METRIC_HISTOGRAM, .buckets = buckets,
                          .nbuckets = 2};
static sy_metric things_b = {.name = "t_things_total", .help = "Things.",
                             .labels = "store=\"b\""};
SY_METRICS_REGISTER(&things, &colours, &waits, &things_b)

SY_CHECK_FIXTURE(1 << 16)

static const char *
render(const char *dir)
{
    sy_buf b;
    sy_buf_init(&b, &A, 1 << 20);
    ck_assert_int_eq(sy_metrics_render(&b, dir), 0);
    return sy_buf_cstr(&b);
}

START_TEST(test_counters_families_and_histograms_render)
{
    sy_counter_add(&things, 0, 3);
    sy_counter_inc(&things_b);
    sy_counter_add(&colours, 2, 7);
    sy_histogram_observe(&waits, 0, 500);    /* 0.5 ms */
    sy_histogram_observe(&waits, 0, 20000);  /* 20 ms: +Inf */
    const char *t = render(NULL);
    ck_assert_ptr_nonnull(strstr(t, "t_things_total{store=\"a\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(t, "t_things_total{store=\"b\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(t, "t_colours_total{colour=\"blue\"} 7\n"));
    ck_assert_ptr_null(strstr(t, "colour=\"red\"")); /* sparse */
    ck_assert_ptr_nonnull(strstr(t, "t_wait_seconds_bucket{le=\"0.001\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(t, "t_wait_seconds_bucket{le=\"0.01\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(t, "t_wait_seconds_bucket{le=\"+Inf\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(t, "t_wait_seconds_sum 0.020500\n"));
    ck_assert_ptr_nonnull(strstr(t, "t_wait_seconds_count 2\n"));
}
END_TEST

START_TEST(test_a_family_is_rendered_in_one_piece)
{
    const char *t = render(NULL);
    const char *help = strstr(t, "# HELP t_things_total");
    ck_assert_ptr_nonnull(help);
    ck_assert_ptr_null(strstr(help + 1, "# HELP t_things_total"));
    const char *a = strstr(t, "t_things_total{store=\"a\"}");
    const char *b = strstr(t, "t_things_total{store=\"b\"}");
    const char *next = strstr(t, "# HELP t_colours_total");
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(next);
    ck_assert(a < b && b < next);
}
END_TEST

START_TEST(test_another_process_counts_into_a_segment)
{
    char dir[64];
    sy_check_tmpdir(dir);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int rc = sy_metrics_use_file(dir, "cli");
        sy_counter_add(&things, 0, 5);
        _exit(rc == 0 ? 0 : 1);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    sy_counter_add(&things, 0, 2); /* this process, in private memory */
    const char *t = render(dir);
    ck_assert_ptr_nonnull(strstr(t, "t_things_total{store=\"a\"} 7\n"));
    ck_assert_ptr_nonnull(strstr(render(NULL), "t_things_total{store=\"a\"} 2\n"));
    sy_check_rmdir(dir);
}
END_TEST

START_TEST(test_a_segment_of_another_layout_is_ignored)
{
    char dir[64], path[256];
    sy_check_tmpdir(dir);
    sy_check_write(dir, "old.seg", "not a segment", path);
    ck_assert_int_eq(truncate(path, 8 * (SY_METRICS_CELLS + 2)), 0);
    sy_counter_inc(&things);
    ck_assert_ptr_nonnull(strstr(render(dir), "t_things_total{store=\"a\"} 1\n"));
    sy_check_rmdir(dir);
}
END_TEST

int
main(void)
{
    const TTest *const tests[] = {
        test_counters_families_and_histograms_render,
        test_a_family_is_rendered_in_one_piece,
        test_another_process_counts_into_a_segment,
        test_a_segment_of_another_layout_is_ignored,
        NULL};
    return sy_check_suite("metrics", setup, teardown, tests);
}
