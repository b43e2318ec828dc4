/*
 * registry_ask.h - the receiver's question to smtpd's parent: is one of
 * these names (or a parent domain of it) in the registry of trusted
 * transmitters?  (IPC_PARENT_REGISTRY, common/registry.h.)
 *
 *	a = rcv_registry_ask(parent_ipc, names, n, done, arg);
 *	...
 *	done(status, index, name, note, arg):
 *		status	REGISTRY_ANS_LISTED: names[index] is covered by
 *			the listed name, with its note ("" none);
 *			REGISTRY_ANS_NONE; REGISTRY_ANS_TEMPFAIL (the
 *			parent's database failed)
 *	rcv_registry_cancel(a);	(only while done has not run)
 *
 * The callback runs once, from the event loop (when the parent's answer
 * arrives: the receiver's dispatch hands every IPC_RECEIVER_REGISTRY to
 * rcv_registry_answer()), never from inside rcv_registry_ask().  name
 * and note are valid during the callback only.
 *
 * Runs in smtpd.receiver ([global] user, chrooted, no file access):
 * the parent holds the database.  Its answers are trusted: a malformed
 * one is fatal for the receiver.
 */
#ifndef SM_REGISTRY_ASK_H
#define SM_REGISTRY_ASK_H

#include <stddef.h>
#include <stdint.h>

struct ipc_conn;
struct ipc_msg;
struct rcv_registry_ask;

typedef void	(*rcv_registry_cb)(uint32_t status, size_t index,
		    const char *name, const char *note, void *arg);

/*
 * Ask about names[0..n): empty names are left out, and only the first
 * REGISTRY_ASK_MAX others are asked (index counts those asked).  NULL
 * when nothing is left to ask: no callback comes.
 */
struct rcv_registry_ask *rcv_registry_ask(struct ipc_conn *,
		    const char *const *names, size_t n, rcv_registry_cb,
		    void *);
void		 rcv_registry_cancel(struct rcv_registry_ask *);
/* An IPC_RECEIVER_REGISTRY from the parent (fatal when malformed). */
void		 rcv_registry_answer(struct ipc_msg *);

#endif
