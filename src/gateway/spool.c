/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * spool.c - open calls' state in memory-mapped slot files (spool.h).
 *
 * Per call, the old spool cost four system calls (the head, the status,
 * the body, the truncation that freed the slot), a tenth of a call's CPU
 * through the proxy.  A mapped slot costs none: the stores land in the page
 * cache, which outlives the process.  Slots are created with their blocks
 * allocated (fallocate), so a full disk shows when a slot is made or
 * grown, never as SIGBUS on a store.
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/fileio.h"
#include "../lib/jsonutil.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "llmreq.h"
#include "spool.h"

#define SLOT_MAGIC "SXSPOOL2" /* SXSPOOL1 (meta before the request) is still read */
#define META_ROOM 4096 /* what a slot is made larger than its request for the meta */
#define TAKE_HINT_MAX ((size_t)1024 * 1024)
#define SLOT_HEAD 64
#define SLOT_INIT (64 * 1024) /* a slot's smallest size and size step; it doubles as needed */
/* A slot is mapped this long from the start, past its file's end (address
 * space only: a shared file mapping commits no memory): the file grows
 * under the mapping, without the mremap that moved a growing slot's pages
 * and flushed every thread's TLB (a tenth of a streaming call's CPU).  A
 * slot does not grow past it: the mapping never moves, as the request in
 * it is sent upstream from there. */
#define SLOT_MAP ((size_t)256 * 1024 * 1024)
/* Free slots are kept mapped (a slot made anew costs a file, its blocks and
 * a page fault per page; one destroyed costs an munmap) up to this many
 * and this much in all; a slot past it goes.  As many as the calls in
 * flight plus the recorder's backlog (it frees up to 256 at once): with 256,
 * 64 clients of 2 KB calls made and destroyed slots all the time, a tenth
 * of the recorder's CPU.  The pages are the page cache's, written back and
 * reclaimable like any file's. */
#define SPOOL_IDLE_MAX 1024
#define SPOOL_IDLE_BYTES (256 * 1024 * 1024)
/* A slot a big call grew past this goes when freed: few calls need it. */
#define SLOT_KEEP_MAX ((size_t)4 * 1024 * 1024)

struct slot_head {
	char magic[8];
	uint32_t state, meta_len;
	uint64_t request_len;
	int64_t status;
	uint32_t sse, zero;
	uint64_t body_len;
	char pad[16];
};
_Static_assert(sizeof(struct slot_head) == SLOT_HEAD, "the slot head is 64 bytes");

struct sx_spool_slot {
	int fd;
	char *path;
	char *map;
	size_t size; /* of the file (its blocks allocated); mapped SLOT_MAP long */
	size_t used; /* bytes stored after the head */
	size_t request_len; /* 0 until sx_spool_open(): the request is still coming */
	size_t body_off; /* where the response body starts */
};

struct sx_spool {
	char *dir; /* DIR/spool */
	pthread_mutex_t lock; /* the free slots: the recorder thread frees them */
	struct sx_spool_slot *idle[SPOOL_IDLE_MAX];
	size_t n_idle, idle_bytes;
	unsigned long next_slot;
	bool wipe;
};

static struct slot_head *head_of(struct sx_spool_slot *t)
{
	return (struct slot_head *)(void *)t->map;
}

int sx_spool_new(const char *dir, bool wipe, struct sx_spool **ret)
{
	struct sx_spool *s = calloc(1, sizeof(*s));

	if (!s || !(s->dir = sx_strdupf("%s/spool", dir))) {
		free(s);
		return -ENOMEM;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->wipe = wipe;
	*ret = s;
	return 0;
}

static void slot_destroy(struct sx_spool_slot *t)
{
	if (t->map)
		munmap(t->map, SLOT_MAP);
	if (t->fd >= 0)
		close(t->fd);
	if (t->path)
		unlink(t->path);
	free(t->path);
	free(t);
}

void sx_spool_free(struct sx_spool *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_idle; i++)
		slot_destroy(s->idle[i]);
	pthread_mutex_destroy(&s->lock);
	free(s->dir);
	free(s);
}

/* Makes the slot hold at least need bytes after the head.  A new slot is
 * made the size its first call asks for (64 KiB steps), a slot that has to
 * grow doubles.  The mapping never moves (the request in it is being sent
 * upstream from there): past SLOT_MAP a slot does not grow. */
static int slot_reserve(struct sx_spool_slot *t, size_t need)
{
	size_t size = t->size;
	int r;

	if (SLOT_HEAD + need <= t->size)
		return 0;
	if (SLOT_HEAD + need > SLOT_MAP)
		return -EFBIG;
	if (!size)
		size = (SLOT_HEAD + need + SLOT_INIT - 1) / SLOT_INIT * SLOT_INIT;
	while (size < SLOT_HEAD + need)
		size *= 2;
	if (size > SLOT_MAP)
		size = SLOT_MAP;
	r = posix_fallocate(t->fd, 0, (off_t)size);
	if (r != 0)
		return -r;
	if (!t->map) {
		char *map = mmap(NULL, SLOT_MAP, PROT_READ | PROT_WRITE, MAP_SHARED, t->fd, 0);
		if (map == MAP_FAILED)
			return -errno;
		t->map = map;
	}
	t->size = size;
	return 0;
}

static struct sx_spool_slot *slot_new(struct sx_spool *s, size_t need)
{
	struct sx_spool_slot *t = calloc(1, sizeof(*t));
	int r;

	if (!t)
		return NULL;
	t->path = sx_strdupf("%s/slot-%lu", s->dir, s->next_slot++);
	t->fd = t->path ? open(t->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600) : -1;
	if (t->fd < 0) {
		r = t->path ? -errno : -ENOMEM;
		slot_destroy(t);
		errno = -r;
		return NULL;
	}
	if ((r = slot_reserve(t, need)) < 0) {
		slot_destroy(t);
		errno = -r;
		return NULL;
	}
	return t;
}

struct sx_spool_slot *sx_spool_take(struct sx_spool *s, size_t request_hint)
{
	/* Room for the meta too, which comes after the request.  A slot is
	 * made for what a head announces only up to TAKE_HINT_MAX: beyond, it
	 * grows with the bytes that arrive (a client announcing 32 MiB and
	 * sending nothing must not take 32 MiB of disk per connection). */
	size_t need = MIN(request_hint, TAKE_HINT_MAX) + META_ROOM;
	struct sx_spool_slot *t = NULL;
	int r;

	pthread_mutex_lock(&s->lock);
	if (s->n_idle) {
		t = s->idle[--s->n_idle];
		s->idle_bytes -= t->size;
	}
	pthread_mutex_unlock(&s->lock);
	if (!t)
		return slot_new(s, need);
	if ((r = slot_reserve(t, need)) < 0 && r != -EFBIG) {
		slot_destroy(t);
		errno = -r;
		return NULL;
	}
	return t;
}

/* Stores len bytes after what the slot holds. */
static int slot_append(struct sx_spool_slot *t, const void *data, size_t len)
{
	int r = slot_reserve(t, t->used + len);

	if (r < 0)
		return r;
	memcpy(t->map + SLOT_HEAD + t->used, data, len);
	t->used += len;
	return 0;
}

int sx_spool_request(struct sx_spool_slot *t, const void *data, size_t len)
{
	return slot_append(t, data, len);
}

const char *sx_spool_request_bytes(const struct sx_spool_slot *t, size_t *len)
{
	*len = t->request_len ? t->request_len : t->used;
	return t->map + SLOT_HEAD;
}

int sx_spool_open(struct sx_spool_slot *t, const char *meta)
{
	size_t meta_len = strlen(meta), request_len = t->used;
	struct slot_head *h = head_of(t);
	int r = slot_append(t, meta, meta_len);

	if (r < 0)
		return r;
	t->request_len = request_len;
	t->body_off = t->used;
	memcpy(h->magic, SLOT_MAGIC, 8);
	h->meta_len = htole32((uint32_t)meta_len);
	h->request_len = htole64(t->request_len);
	h->status = (int64_t)htole64((uint64_t)-1);
	h->sse = 0;
	h->body_len = 0;
	__atomic_store_n(&h->state, htole32(1), __ATOMIC_RELEASE); /* last: the slot is whole */
	return 0;
}

void sx_spool_status(struct sx_spool_slot *t, long status, bool sse)
{
	struct slot_head *h = head_of(t);
	h->sse = htole32(sse);
	h->status = (int64_t)htole64((uint64_t)(int64_t)status);
}

int sx_spool_body(struct sx_spool_slot *t, const void *data, size_t len)
{
	int r = slot_append(t, data, len);

	if (r < 0)
		return r;
	__atomic_store_n(&head_of(t)->body_len, htole64(t->used - t->body_off), __ATOMIC_RELEASE);
	return 0;
}

const char *sx_spool_body_bytes(const struct sx_spool_slot *t, size_t *len)
{
	*len = t->used - t->body_off;
	return t->map + SLOT_HEAD + t->body_off;
}

void sx_spool_release(struct sx_spool *s, struct sx_spool_slot *t)
{
	if (!t)
		return;
	head_of(t)->state = 0;
	/* With --no-reasoning a free slot keeps nothing of the answer (the
	 * reasoning is to be nowhere on disk once the record is written).
	 * Otherwise the answer stays until the next call overwrites it, like
	 * the request: both are in the capture file beside, and zeroing
	 * hundreds of KiB per call is not free. */
	if (s->wipe)
		memset(t->map + SLOT_HEAD + t->body_off, 0, t->used - t->body_off);
	t->used = t->body_off = t->request_len = 0;
	pthread_mutex_lock(&s->lock);
	if (s->n_idle < SPOOL_IDLE_MAX && t->size <= SLOT_KEEP_MAX &&
	    s->idle_bytes + t->size <= SPOOL_IDLE_BYTES) {
		s->idle[s->n_idle++] = t;
		s->idle_bytes += t->size;
		t = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	if (t)
		slot_destroy(t);
}

/* The head: the meta fields and the raw request made into what a live
 * call's record starts with. */
static cJSON *read_head(const cJSON *meta, const char *request, size_t len)
{
	struct sx_llm_head h = {
	    .timestamp = sx_json_str(meta, "timestamp") ?: "",
	    .id = sx_json_str(meta, "id") ?: "",
	    .instance = sx_json_str(meta, "instance") ?: "",
	    .provider = sx_json_str(meta, "provider") ?: "",
	    .endpoint = sx_json_str(meta, "endpoint") ?: "",
	    .method = sx_json_str(meta, "method") ?: "",
	    .run_id = sx_json_str(meta, "run_id"),
	    .body = request,
	    .body_len = len,
	};
	return sx_llm_record_head(&h);
}

int sx_spool_read(const char *path, cJSON **head, size_t *request_bytes, long *status, bool *sse, char **body,
		  size_t *len)
{
	_cleanup_free_ char *text = NULL, *why = NULL, *meta_text = NULL;
	_cleanup_cjson_ cJSON *meta = NULL;
	struct slot_head h;
	size_t n, meta_len, req_len, body_len;
	const char *p, *meta_at, *req_at;
	int r;

	r = sx_read_file(path, &text, &n);
	if (r < 0)
		return r;
	if (n < SLOT_HEAD)
		return n == 0 ? -ENODATA : -EBADMSG;
	memcpy(&h, text, SLOT_HEAD);
	if (memcmp(h.magic, SLOT_MAGIC, 8) != 0 && memcmp(h.magic, "SXSPOOL1", 8) != 0)
		return -EBADMSG;
	if (le32toh(h.state) != 1)
		return -ENODATA;
	meta_len = le32toh(h.meta_len);
	req_len = le64toh(h.request_len);
	body_len = le64toh(h.body_len);
	if (meta_len > n - SLOT_HEAD || req_len > n - SLOT_HEAD - meta_len ||
	    body_len > n - SLOT_HEAD - meta_len - req_len)
		return -EBADMSG;
	p = text + SLOT_HEAD;
	/* SXSPOOL2: the request first (it is stored as it arrives) */
	req_at = h.magic[7] == '2' ? p : p + meta_len;
	meta_at = h.magic[7] == '2' ? p + req_len : p;
	meta_text = strndup(meta_at, meta_len);
	if (!meta_text)
		return -ENOMEM;
	if (sx_json_parse(meta_text, &meta, &why) < 0)
		return -EBADMSG;
	*head = read_head(meta, req_at, req_len);
	if (!*head)
		return -ENOMEM;
	*request_bytes = req_len;
	*status = (long)(int64_t)le64toh((uint64_t)h.status);
	*sse = le32toh(h.sse) != 0;
	*len = body_len;
	*body = malloc(body_len + 1);
	if (!*body) {
		cJSON_Delete(*head);
		*head = NULL;
		return -ENOMEM;
	}
	memcpy(*body, p + meta_len + req_len, body_len);
	(*body)[body_len] = 0;
	return 0;
}
