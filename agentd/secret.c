/* secret.c — locked, wiped storage for key material. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "secret.h"

/* The struct and the bytes share one mapping so both are locked together. */
static size_t
map_size(size_t cap)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t need = sizeof(struct secret) + cap + 1;

	return (need + page - 1) / page * page;
}

struct secret *
secret_new(size_t cap)
{
	struct secret *s;
	size_t size;
	void *p;

	if (cap > 1024 * 1024)
		return NULL;
	size = map_size(cap);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, size, MADV_DONTDUMP);
	s = p;
	s->data = (char *)p + sizeof(*s);
	s->len = 0;
	s->cap = cap;
	s->locked = mlock(p, size) == 0;
	return s;
}

int
secret_append(struct secret *s, const void *buf, size_t len)
{
	if (len > s->cap - s->len)
		return -ENOSPC;
	memcpy(s->data + s->len, buf, len);
	s->len += len;
	s->data[s->len] = '\0';
	return 0;
}

void
secret_clear(struct secret *s)
{
	explicit_bzero(s->data, s->cap + 1);
	s->len = 0;
}

struct secret *
secret_free(struct secret *s)
{
	size_t size;
	bool locked;

	if (s == NULL)
		return NULL;
	size = map_size(s->cap);
	locked = s->locked;
	explicit_bzero(s, size);
	if (locked)
		munlock(s, size);
	munmap(s, size);
	return NULL;
}
