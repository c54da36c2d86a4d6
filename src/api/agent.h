/* agent.h - carved as an agent of a pool (docs/pool.md): a thread with a
 * store connection of its own that
 *   - heartbeats this host into the store every heartbeat_ms and reads every
 *     host's liveness into the model (host-list's live, placement's hosts);
 *   - listens (PostgreSQL LISTEN) on the pool's channel, noting for the
 *     service each VM and PGPU another agent changed (read into the model
 *     before the next call that answers from it: carve_service_note_changed),
 *     and on this host's channel, taking up what other hosts' placements
 *     handed it (carve_service_realize);
 *     every few heartbeats it also looks for hand-overs it may have missed;
 *   - after a lost connection (a server restart) reconnects, has the whole
 *     model read anew (notifications were missed) and looks for hand-overs.
 * Only on a store that notifies (PostgreSQL); elsewhere start does nothing.
 * Threading: start and stop from the main thread; the agent uses the
 * service's locks.  Errors: start returns 0 or a negative errno with err
 * set; the thread logs what fails and retries.
 */
#pragma once

#include "service.h"

struct carve_agent;

struct carve_agent_config {
	unsigned heartbeat_ms, host_timeout_ms, wait_ms;
};

int carve_agent_start(struct carve_service *svc, const struct carve_agent_config *cfg, struct carve_agent **out,
		      struct carve_error *err);
/* Stop the thread and free; NULL is fine. */
void carve_agent_stop(struct carve_agent *a);
