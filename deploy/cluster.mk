# The several-host set-up on one machine (deploy/README.md). The main Makefile includes
# this file (`include deploy/cluster.mk`, anywhere: the default goal is left alone), or:
#   make -f Makefile -f deploy/cluster.mk failover-test
#
#   make cluster-up        etcd x3, Patroni + PostgreSQL 15 x3, HAProxy, 3 gunicorn app hosts
#   make cluster-status    Patroni's view, and where the write port points
#   make cluster-down      stop all of it and delete its data (/tmp/booking-cluster)
#   make failover-test     up, booking rush, kill -9 the primary, switch over, check, down
#   make failover-teeth    the same harness on asynchronous replication with the primary cut
#                          off from its replicas: passes only when it SEES lost bookings
#   make cluster-latency   one client's booking latency: single PostgreSQL vs the cluster
#
# Runs as root (apt-get, Patroni as the postgres user). APP_DIR=<a checkout> runs another
# copy of the app (e.g. a git worktree of the last commit); the app's virtualenv is $(VENV).
# Every recipe's exit code is the script's: the scripts always tear down what they start.
_cluster_saved_goal := $(.DEFAULT_GOAL)

VENV ?= .venv
CLUSTER_PYTHON ?= /usr/bin/python3
CLUSTER_ENV = APP_VENV=$(abspath $(VENV))

.PHONY: cluster-venv cluster-up cluster-down cluster-status failover-test failover-teeth cluster-latency

# The app's virtualenv, from the main Makefile's `venv` target (a no-op when up to date).
cluster-venv:
	@$(MAKE) --no-print-directory -f Makefile venv

cluster-up: cluster-venv
	$(CLUSTER_ENV) $(CLUSTER_PYTHON) deploy/cluster.py up

cluster-status:
	$(CLUSTER_PYTHON) deploy/cluster.py status

cluster-down:
	$(CLUSTER_PYTHON) deploy/cluster.py down

# FAILOVER_ROUNDS=kill,switchover,isolate adds the isolation round (README).
FAILOVER_ROUNDS ?= kill,switchover
failover-test: cluster-venv
	$(CLUSTER_ENV) $(CLUSTER_PYTHON) deploy/failover_test.py --rounds $(FAILOVER_ROUNDS)

failover-teeth: cluster-venv
	$(CLUSTER_ENV) $(CLUSTER_PYTHON) deploy/failover_test.py --teeth

cluster-latency: cluster-venv
	$(CLUSTER_ENV) $(CLUSTER_PYTHON) deploy/latency.py

.DEFAULT_GOAL := $(_cluster_saved_goal)
