/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * shfile.h - read-only blocks shared by a host's responders as files
 * under server.runtime_dir (app/store/shfile.c): the product vectors
 * (vectors.h) and the full-text index (textidx.h).
 *
 * The protocol, the same for both: the first process that needs a block
 * takes the key's lock file (flock: the others wait, then map what it
 * built; a builder that dies releases it), checks that the block was not
 * built while it waited, writes it under a temporary name, renames it
 * into place and unlinks the key's older files (a process that still
 * maps one keeps a valid mapping until it moves on).  No fsync: a tmpfs,
 * and a lost file is only rebuilt.  The caller checks a mapped file (its
 * header and a checksum) before using it.
 */
#ifndef SYNTHIA_SHFILE_H
#define SYNTHIA_SHFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* server.runtime_dir, or NULL when it is empty: blocks in the heap. */
const char *sy_shfile_dir(void);

/* Log once per *logged that dir cannot share blocks (what failed, and
 * errno err): event names the log line, whose message says that each
 * responder keeps its own copy of `copy`. */
void sy_shfile_unshared(bool *logged, const char *event, const char *copy,
                        const char *dir, const char *what, int err);

/* FNV-1a over len bytes, from h (SY_SHFILE_HASH0 to begin). */
#define SY_SHFILE_HASH0 0xcbf29ce484222325ULL
uint64_t sy_shfile_hash(uint64_t h, const void *p, size_t len);

/* A checksum of len bytes (Fletcher-like over 64-bit words: about a
 * millisecond per 10 MiB). */
uint64_t sy_shfile_sum(const void *p, size_t len);

/* A file mapped read-only. */
typedef struct sy_shfile {
    void *base;
    size_t bytes;
    dev_t dev;
    ino_t ino;
} sy_shfile;

/* Map dir/name read-only (MAP_SHARED).  0; SY_ENOTFOUND when there is no
 * such file; SY_EINVAL when it is shorter than min_bytes or cannot be
 * mapped (broken: the caller rebuilds it). */
int sy_shfile_map(const char *dir, const char *name, size_t min_bytes,
                  sy_shfile *out);

/* Take the exclusive lock dir/name (created): a descriptor that holds
 * it until sy_shfile_unlock, or -1 (errno set). */
int sy_shfile_lock(const char *dir, const char *name);
void sy_shfile_unlock(int fd);

/* Create dir/<prefix><pid>.tmp for writing (its name in tmp): a
 * descriptor, or -1 (errno set).  Under the key's lock. */
int sy_shfile_create(const char *dir, const char *prefix, char *tmp,
                     size_t tmplen);

/* Rename dir/tmp to dir/name, then unlink every other file of dir whose
 * name begins with prefix (older blocks of the key; temporary files of
 * builders that died: the caller holds the lock, so none is live) --
 * except, when both names are "<prefix>v<version>.bin", a newer
 * version's: a responder that still knew an older catalog version must
 * not take away the file the others map next.  0, or -1 (errno set; tmp
 * is unlinked). */
int sy_shfile_publish(const char *dir, const char *tmp, const char *name,
                      const char *prefix);

/* Unlink dir/tmp (a build that failed). */
void sy_shfile_discard(const char *dir, const char *tmp);

/* Write len bytes to fd: 0, or -1 (errno set). */
int sy_shfile_write_all(int fd, const void *p, size_t len);

#endif
