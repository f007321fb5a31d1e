// SPDX-License-Identifier: GPL-2.0-or-later
// opensrf-shared-worker.js: the SharedWorker of opensrf-client.js's shared
// mode (OpenSRF.configure({ sharedWorker: '/js/opensrf-shared-worker.js' })).
// It holds one WebSocket per endpoint for every tab of the origin; the code
// is the client's own (serveTabs), from the classic build beside this file.
importScripts('opensrf-client.classic.js');
OpenSRF.serveTabs(self);
