/* agent.c - carved's pool agent thread (agent.h). */
#include "agent.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "ops/pool.h"
#include "state/model.h"
#include "state/repo.h"
#include "store/db.h"
#include "util/cleanup.h"
#include "util/clock.h"

/* Look for missed hand-overs every this many heartbeats. */
#define SWEEP_BEATS 5

struct carve_agent {
	struct carve_service *svc;
	struct carve_agent_config cfg;
	pthread_t thread;
	int stop_fd;
	_Atomic bool stop;
	struct carve_db *db; /* the agent's own connection; NULL while away */
	char channel[48];
};


static void disconnect(struct carve_agent *a)
{
	carve_db_close(a->db);
	a->db = NULL;
}

static int connect_listen(struct carve_agent *a, struct carve_error *err)
{
	int r = carve_db_open(carve_service_db_path(a->svc), &a->db, err);
	if (r < 0)
		return r;
	if ((r = carve_db_listen(a->db, CARVE_POOL_CHANNEL, err)) < 0 || (r = carve_db_listen(a->db, a->channel, err)) < 0)
		disconnect(a);
	return r;
}

static int beat(struct carve_agent *a, struct carve_error *err)
{
	_cleanup_rows_ struct carve_rows *rows = NULL;
	int r = carve_repo_host_heartbeat(a->db, carve_service_host_uuid(a->svc), err);
	if (r >= 0)
		r = carve_repo_host_liveness(a->db, &rows, err);
	if (r < 0)
		return r;
	struct carve_model *m = carve_service_model(a->svc);
	carve_model_wrlock(m);
	carve_model_set_liveness(m, rows);
	carve_model_unlock(m);
	return 0;
}

static void realize(struct carve_agent *a)
{
	size_t done = 0;
	struct carve_error e = {0};
	if (carve_service_realize(a->svc, &done, &e) < 0)
		carve_log(LOG_WARNING, "taking up hand-overs failed: %s: %s", e.id, e.message);
	else if (done)
		carve_log(LOG_INFO, "took up %zu hand-over(s) from other hosts", done);
}

/* Drain the notifications received: hand-overs to this host set *handed;
 * the VMs and PGPUs other agents changed are noted for the service to read
 * before its next call that answers from the model (service.h). */
static int drain(struct carve_agent *a, bool *handed, struct carve_error *err)
{
	int r;
	char ch[64], payload[8192], self[64];
	carve_pool_origin(carve_service_host_uuid(a->svc), self);
	while ((r = carve_db_next_note(a->db, ch, sizeof(ch), payload, sizeof(payload))) > 0) {
		if (strcmp(ch, a->channel) == 0) {
			*handed = true;
			continue;
		}
		/* a line each (store/db.h, carve_db_notify) */
		for (char *line = payload, *next; line && *line; line = next) {
			if ((next = strchr(line, '\n')))
				*next++ = '\0';
			char kind[8], uuid[40], origin[72] = "";
			if (sscanf(line, "%7s %39s %71s", kind, uuid, origin) < 2 || strlen(uuid) != 36)
				continue;
			if (strcmp(origin, self) == 0)
				continue; /* this process wrote it: its model has it */
			if (strcmp(kind, "vm") == 0 || strcmp(kind, "pgpu") == 0)
				carve_service_note_changed(a->svc, kind[0], uuid);
		}
	}
	if (r < 0)
		return carve_error_set(err, r, "DATABASE_UNAVAILABLE", "the pool's notifications stopped");
	return 0;
}

static void *agent_main(void *arg)
{
	struct carve_agent *a = arg;
	long long next_beat = 0;
	unsigned beats = SWEEP_BEATS - 1; /* look for hand-overs at once */
	bool was_away = false, logged_away = false;
	while (!atomic_load(&a->stop)) {
		struct carve_error e = {0};
		if (!a->db) {
			if (connect_listen(a, &e) < 0) {
				if (!logged_away)
					carve_log(LOG_WARNING, "pool agent: %s: %s; retrying", e.id, e.message);
				logged_away = true;
				was_away = true;
				struct pollfd p = {.fd = a->stop_fd, .events = POLLIN};
				poll(&p, 1, (int)a->cfg.heartbeat_ms);
				continue;
			}
			if (was_away) { /* what was said meanwhile is lost: read it all */
				carve_log(LOG_INFO, "pool agent: store reachable again; the model is read anew");
				carve_service_note_changed(a->svc, 'a', NULL);
			}
			logged_away = false;
			was_away = false;
			next_beat = 0;
			beats = SWEEP_BEATS - 1; /* look for hand-overs at once */
		}
		bool handed = false;
		if (carve_mono_ms() >= next_beat) {
			if (beat(a, &e) < 0) {
				carve_log(LOG_WARNING, "pool agent: heartbeat failed: %s: %s", e.id, e.message);
				disconnect(a);
				was_away = true;
				continue;
			}
			next_beat = carve_mono_ms() + a->cfg.heartbeat_ms;
			if (++beats >= SWEEP_BEATS) {
				beats = 0;
				handed = true;
			}
		}
		long long wait = next_beat - carve_mono_ms();
		struct pollfd p[2] = {{.fd = a->stop_fd, .events = POLLIN}, {.fd = carve_db_fd(a->db), .events = POLLIN}};
		if (!handed)
			poll(p, 2, (int)(wait > 0 ? wait : 0));
		if (atomic_load(&a->stop))
			break;
		if (drain(a, &handed, &e) < 0) {
			carve_log(LOG_WARNING, "pool agent: %s: %s", e.id, e.message);
			disconnect(a);
			was_away = true;
			continue;
		}
		if (handed)
			realize(a);
	}
	disconnect(a);
	return NULL;
}

int carve_agent_start(struct carve_service *svc, const struct carve_agent_config *cfg, struct carve_agent **out,
		      struct carve_error *err)
{
	*out = NULL;
	carve_service_set_pool(svc, cfg->host_timeout_ms, cfg->wait_ms);
	if (!carve_db_spec_is_pg(carve_service_db_path(svc)))
		return 0; /* one host: no one to hear or hand over to */
	struct carve_agent *a = calloc(1, sizeof(*a));
	if (!a)
		return carve_error_set(err, -ENOMEM, "OUT_OF_MEMORY", "out of memory");
	a->svc = svc;
	a->cfg = *cfg;
	carve_pool_channel(carve_service_host_uuid(svc), a->channel);
	a->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int r = a->stop_fd < 0 ? -errno : connect_listen(a, err);
	if (r >= 0 && (r = beat(a, err)) >= 0 && pthread_create(&a->thread, NULL, agent_main, a) != 0)
		r = carve_error_set(err, -EAGAIN, "INTERNAL_ERROR", "cannot start the pool agent thread");
	if (r < 0) {
		if (!carve_error_isset(err))
			carve_error_set(err, r, "INTERNAL_ERROR", "pool agent: %s", strerror(-r));
		disconnect(a);
		if (a->stop_fd >= 0)
			close(a->stop_fd);
		free(a);
		return r;
	}
	*out = a;
	return 0;
}

void carve_agent_stop(struct carve_agent *a)
{
	if (!a)
		return;
	atomic_store(&a->stop, true);
	uint64_t one = 1;
	if (write(a->stop_fd, &one, sizeof(one)) < 0) {
		/* the flag alone stops it at the next heartbeat */
	}
	pthread_join(a->thread, NULL);
	close(a->stop_fd);
	free(a);
}
