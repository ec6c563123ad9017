/* dlist.h — the intrusive doubly linked list a module keeps its live objects
 * in (control clients, HTTP calls and sockets, kube calls and watches, Vault
 * requests): an element has `prev` and `next` pointers, HEAD points at the
 * first.  Macros, so that one pair serves every element type.
 */
#ifndef AGENTD_DLIST_H
#define AGENTD_DLIST_H

/* Puts X at the front of HEAD. */
#define DLIST_LINK(head, x)                 \
	do {                                \
		(x)->prev = NULL;           \
		(x)->next = (head);         \
		if (head)                   \
			(head)->prev = (x); \
		(head) = (x);               \
	} while (0)

/* Takes X (which is in HEAD) out of HEAD. */
#define DLIST_UNLINK(head, x)                        \
	do {                                         \
		if ((x)->prev)                       \
			(x)->prev->next = (x)->next; \
		else                                 \
			(head) = (x)->next;          \
		if ((x)->next)                       \
			(x)->next->prev = (x)->prev; \
	} while (0)

#endif
