/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_threads.h - THE one place on the gateway's threads and locks: the
 * module's (mod_osrf_websocket.c) and the bridge plugin's (osrf_ws_bridge.c
 * and src/httpd/osrf_bridge_*.c).  Every other file points here.  It
 * declares nothing.
 *
 * Threads (one connection per prefork child)
 * ------------------------------------------
 * The connection thread (the request's own thread) is the only one that
 * reads the client connection; it owns the module's reader and timers and
 * runs every plugin callback (on_connect, on_message, on_disconnect,
 * on_shutdown).  For the bridge it owns the bus context it RPUSHes and
 * DELs with (send_bus) and the inbound buffers (bus_msg, activity, reply).
 *
 * The bridge's listener thread owns recv_bus, the context it BLPOPs with
 * (hiredis contexts are not thread-safe), its outbound frame and its
 * scratch list of threads to answer (answer).  Both bus contexts stay
 * logged in across the connections the child serves one after another.
 * The listener reaches the connection only through the server handle's
 * send and close.
 *
 * The locks, in the order they are taken (never the other way)
 * ------------------------------------------------------------
 *   1. ws_state.io        (module) the client connection itself: its
 *                         filters, bucket allocator and brigades, mod_ssl's
 *                         state and the write buffer.  The module holds it
 *                         while it calls on_connect (the 101 goes out
 *                         after it), so a plugin's thread that sends at
 *                         once leaves its frames in the outbox.  Writers
 *                         other than the connection thread only trylock it.
 *   2. bridge.lock        (bridge) the shared bridge state below.  Held,
 *                         by on_connect, under io; held while the bridge
 *                         calls server->close or sends a close frame
 *                         (idle close, 1001 on shutdown, which take 4);
 *                         never held around server->send of a data frame
 *                         (deliver drops it: a send may wait on drained,
 *                         and may take 3 and 1).
 *   3. ws_state.deflate_lock  (module) the deflate stream and its output
 *                         buffer; taken by the thread that sends.
 *   4. ws_state.lock      (module) outbox, in_write, closing/close_code,
 *                         closed, broken; "drained" is its condition.
 * The module calls no plugin callback while it holds 3 or 4, so
 * bridge.lock is never wanted under them.
 *
 * The module's state under ws_state.lock: the writer swaps the outbox
 * with the write buffer under it and writes outside it; while the outbox
 * is over its bound, send from another thread waits on "drained"
 * (back-pressure).  A close asked for by another thread wakes the
 * connection thread through the pollset.  Whoever sends a frame also
 * writes it (io by trylock): a thread that finds io taken leaves its frame
 * in the outbox, and every holder looks at the outbox again once it has
 * let go.  While the connection thread waits for io to read ("reading",
 * atomic), other threads leave their frames to it.  Another thread writes
 * only a small outbox into a socket with room (direct_write_ok); anything
 * else it leaves to the connection thread, so only that thread ever waits
 * on a client that does not read.  Inflating client messages is the
 * connection thread's alone.
 *
 * The bridge's state under bridge.lock (osrf_ws_bridge.h):
 *   server, generation            the current connection (generation
 *                                 counts connections, so a frame meant for
 *                                 one never reaches the next);
 *   flight                        the policy's state (osrf_flight.h): the
 *                                 current and next addresses (between
 *                                 connections the listener watches the next
 *                                 one already, so a new connection's first
 *                                 reply wakes it even while it blocks on
 *                                 retired ones), the session cache, the
 *                                 threads in flight, the abandoned requests,
 *                                 the retired addresses, last activity and
 *                                 request, stopping, and watching (the
 *                                 listener's BLPOP, sent or about to be,
 *                                 names the current address);
 *   overflowed, peer              the connection was closed for replies past
 *                                 its bound (later ones are dropped), and
 *                                 who it was;
 *   sending                       the listener is inside server->send:
 *                                 on_disconnect waits for it to finish.
 * bridge.wake signals the listener that a connection began, and
 * on_disconnect that a send has ended or the listener is back from a
 * BLPOP.  A connection that ends clears server; if the listener is
 * watching its address, it pushes the WAKE_TOKEN there so the listener
 * looks again, and deletes the address only once the listener is back
 * (deleted sooner, the token could go with it while the BLPOP is still on
 * its way to Redis, which would then block on the dead key for its whole
 * timeout while the next connection's first reply waits).  Once server is
 * clear the listener no longer touches the session cache, so on_disconnect
 * reads it without the lock to end the sessions.
 *
 * Not under a lock: log lines (osrf_log.h: one write per line, set up in
 * the parent) and the counters (the child's slot of ws_metrics.h, relaxed
 * atomics from whichever thread sees the event; the bridge's metrics
 * pointer is set on the first connection and stays for the child's life).
 *
 * The child's exit
 * ----------------
 * A child stopped by SIGTERM (a full stop, or a graceful stop's timeout)
 * does not end its connection: prefork destroys the child's pool from the
 * signal handler, on the connection thread, wherever that thread was
 * (holding bridge.lock or the module's locks, maybe), and the connection's
 * memory (the module's state, its locks) goes with it, without
 * on_disconnect.  A plugin whose own thread calls send must keep it out
 * first, without taking a lock.  The bridge's in_server (atomic) counts
 * the listener's calls into the connection (enter_server, leave_server)
 * and carries the EXITING bit.  So, in this order:
 *   1. the child pool's first act (a pre-cleanup, from child_init) sets
 *      EXITING: from then on the listener calls into no connection;
 *   2. if a call is under way, the client's socket is shut down, so the
 *      call cannot stay blocked writing to a client that does not read;
 *   3. it waits, a bounded time and without a lock, for that call to
 *      return (a listener held by a lock the interrupted thread kept gets
 *      no further: the process ends around it);
 *   4. only then do the pools go, the connections' first.
 * Nothing else of the listener's is freed before the process ends (its
 * pool is not the child's), so it may go on with the bus meanwhile.
 */
#ifndef WS_THREADS_H
#define WS_THREADS_H
#endif /* WS_THREADS_H */
