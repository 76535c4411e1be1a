//! Who holds the server's connection slots, and who gives one up.
//!
//! A slow client that trickles its request headers (slowloris) holds a
//! connection while doing nothing. Refusing newcomers once every slot is
//! taken would hand the server to whoever opens connections fastest, so
//! instead:
//! - one client network holds at most `per_net` connections; past that,
//!   its own longest-waiting connection is closed to make room;
//! - when every slot is taken, the connection that has waited longest
//!   without a request in flight (an idle keep-alive, or headers that
//!   never finish) is closed for the newcomer;
//! - only when every connection has a request in flight does a newcomer
//!   wait, in the kernel's backlog, for a slot.
//!
//! A connection asked to close keeps its slot until its socket is closed,
//! and the newcomer waits for that (a moment: one without a request in
//! flight closes at once; one whose request began meanwhile gives its slot
//! up at once instead, so nobody waits for its answer). Slots count sockets, so however fast a
//! slowloris reconnects, the open sockets, and the open files they are,
//! never outnumber the slots (see `crate::open_files`).
//!
//! A connection with a request in flight is never chosen. Connections from
//! a trusted proxy are not counted per network: the proxy speaks for many
//! clients and must apply its own per-client limits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::Notify;
use tokio::sync::futures::Notified;

use super::ClientNet;

#[derive(Debug)]
pub struct Connections {
    table: Mutex<Table>,
    /// Signalled whenever a connection ends.
    freed: Notify,
    max_total: usize,
    /// 0: no per-network cap.
    per_net: usize,
}

#[derive(Debug, Default)]
struct Table {
    next_id: u64,
    open: HashMap<u64, Conn>,
    per_net: HashMap<ClientNet, usize>,
}

#[derive(Debug)]
struct Conn {
    net: Option<ClientNet>,
    in_flight: usize,
    /// Since when nothing has been in flight (meaningful at zero).
    idle_since: Instant,
    shed: Arc<Notify>,
    /// Asked to close; its slot is free once it has.
    closing: bool,
}

/// What became of a new connection.
#[derive(Debug)]
pub enum Admission {
    Admitted(Slot),
    /// Its network already holds all it may, each with a request in flight.
    Refused,
    /// No slot is free: one is closing to make room, or every one is busy
    /// serving a request. Wait for [`Connections::freed`], then ask again.
    Wait,
}

/// One admitted connection. Ends its slot when dropped.
#[derive(Debug)]
pub struct Slot {
    id: u64,
    connections: Arc<Connections>,
    /// Notified when this connection is asked to close.
    pub shed: Arc<Notify>,
}

impl Connections {
    pub fn new(max_total: usize, per_net: usize) -> Arc<Connections> {
        Arc::new(Connections {
            table: Mutex::new(Table::default()),
            freed: Notify::new(),
            max_total: max_total.max(1),
            per_net,
        })
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        // Every update leaves the table consistent; a panic elsewhere
        // while it was held changes nothing.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Resolves once a connection has ended. Create it (and `enable` it)
    /// before calling [`admit`](Self::admit), so no ending is missed.
    pub fn freed(&self) -> Notified<'_> {
        self.freed.notified()
    }

    /// Connections open now.
    pub fn len(&self) -> usize {
        self.table().open.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes a slot for a connection from `net` (`None` for a trusted
    /// proxy), asking a waiting connection to close to make room where
    /// needed.
    pub fn admit(self: &Arc<Self>, net: Option<ClientNet>, now: Instant) -> Admission {
        let mut table = self.table();
        if let Some(net) = net
            && self.per_net > 0
            && table.per_net.get(&net).copied().unwrap_or(0) >= self.per_net
        {
            return match table.longest_waiting(|c| c.net == Some(net)) {
                Some(victim) => {
                    table.shed(victim);
                    Admission::Wait
                }
                None if table.any_closing(|c| c.net == Some(net)) => Admission::Wait,
                None => Admission::Refused,
            };
        }
        if table.open.len() >= self.max_total {
            if let Some(victim) = table.longest_waiting(|_| true) {
                table.shed(victim);
            }
            return Admission::Wait;
        }
        let id = table.next_id;
        table.next_id += 1;
        let shed = Arc::new(Notify::new());
        table.open.insert(
            id,
            Conn {
                net,
                in_flight: 0,
                idle_since: now,
                shed: shed.clone(),
                closing: false,
            },
        );
        if let Some(net) = net {
            *table.per_net.entry(net).or_default() += 1;
        }
        Admission::Admitted(Slot {
            id,
            connections: self.clone(),
            shed,
        })
    }

    /// Asks every connection to close once its request is answered.
    pub fn shed_all(&self) {
        for conn in self.table().open.values() {
            conn.shed.notify_one();
        }
    }
}

impl Table {
    fn longest_waiting(&self, matches: impl Fn(&Conn) -> bool) -> Option<u64> {
        self.open
            .iter()
            .filter(|(_, c)| c.in_flight == 0 && !c.closing && matches(c))
            .min_by_key(|(_, c)| c.idle_since)
            .map(|(id, _)| *id)
    }

    fn any_closing(&self, matches: impl Fn(&Conn) -> bool) -> bool {
        self.open.values().any(|c| c.closing && matches(c))
    }

    /// Tells `id`'s task to close it; its slot is freed when it has.
    fn shed(&mut self, id: u64) {
        if let Some(conn) = self.open.get_mut(&id) {
            conn.closing = true;
            conn.shed.notify_one();
        }
    }

    fn remove(&mut self, id: u64) -> Option<Conn> {
        let conn = self.open.remove(&id)?;
        if let Some(net) = conn.net
            && let Some(count) = self.per_net.get_mut(&net)
        {
            *count -= 1;
            if *count == 0 {
                self.per_net.remove(&net);
            }
        }
        Some(conn)
    }
}

impl Slot {
    /// A request on this connection started.
    pub fn begin(&self) {
        if let Some(conn) = self.connections.table().open.get_mut(&self.id) {
            conn.in_flight += 1;
        }
    }

    /// A request on this connection was answered.
    pub fn end(&self, now: Instant) {
        if let Some(conn) = self.connections.table().open.get_mut(&self.id) {
            conn.in_flight = conn.in_flight.saturating_sub(1);
            if conn.in_flight == 0 {
                conn.idle_since = now;
            }
        }
    }

    /// Gives up this connection's slot before its socket is closed: for a
    /// connection asked to close whose request is still being answered,
    /// so that the newcomer waiting for the slot does not wait for the
    /// answer too (the accept loop waits with it).
    pub fn release(&self) {
        if self.connections.table().remove(self.id).is_some() {
            self.connections.freed.notify_waiters();
        }
    }

    /// Whether a request on this connection is being answered.
    pub fn is_busy(&self) -> bool {
        self.connections
            .table()
            .open
            .get(&self.id)
            .is_some_and(|conn| conn.in_flight > 0)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.connections.table().remove(self.id);
        self.connections.freed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn net(last: u8) -> Option<ClientNet> {
        Some(ClientNet::of([192, 0, 2, last].into()))
    }

    fn admitted(a: Admission) -> Slot {
        match a {
            Admission::Admitted(slot) => slot,
            other => panic!("expected a slot, got {other:?}"),
        }
    }

    #[test]
    fn a_network_at_its_cap_gives_up_its_own_longest_waiting_connection() {
        let table = Connections::new(100, 2);
        let t0 = Instant::now();
        let oldest = admitted(table.admit(net(1), t0));
        let newer = admitted(table.admit(net(1), t0 + Duration::from_secs(1)));
        let other = admitted(table.admit(net(2), t0));
        // The oldest of net 1 is asked to close; net 2 is not touched.
        assert!(matches!(table.admit(net(1), t0), Admission::Wait));
        let closing = |slot: &Slot| table.table().open[&slot.id].closing;
        assert!(closing(&oldest) && !closing(&newer) && !closing(&other));
        // Until its socket is closed, its slot stays taken.
        assert!(matches!(table.admit(net(1), t0), Admission::Wait));
        drop(oldest);
        let third = admitted(table.admit(net(1), t0 + Duration::from_secs(2)));
        assert_eq!(table.len(), 3);
        assert!(!closing(&third));
    }

    #[test]
    fn a_network_whose_connections_are_all_busy_is_refused() {
        let table = Connections::new(100, 1);
        let t0 = Instant::now();
        let busy = admitted(table.admit(net(1), t0));
        busy.begin();
        assert!(matches!(table.admit(net(1), t0), Admission::Refused));
        busy.end(t0);
        assert!(matches!(table.admit(net(1), t0), Admission::Wait));
        drop(busy);
        assert!(matches!(table.admit(net(1), t0), Admission::Admitted(_)));
    }

    #[test]
    fn a_full_table_sheds_the_longest_idle_connection_never_a_busy_one() {
        let table = Connections::new(2, 0);
        let t0 = Instant::now();
        let busy = admitted(table.admit(net(1), t0));
        busy.begin();
        let idle = admitted(table.admit(net(2), t0 + Duration::from_secs(1)));
        assert!(matches!(table.admit(net(3), t0), Admission::Wait));
        assert!(table.table().open[&idle.id].closing);
        assert!(!table.table().open[&busy.id].closing);
        drop(idle);
        let newcomer = admitted(table.admit(net(3), t0 + Duration::from_secs(2)));
        newcomer.begin();
        // Every slot serving a request: nothing is closed, the next waits.
        assert!(matches!(table.admit(net(4), t0), Admission::Wait));
        assert!(!table.table().open.values().any(|c| c.closing));
        drop(busy);
        assert!(matches!(table.admit(net(4), t0), Admission::Admitted(_)));
    }

    #[test]
    fn a_closing_connection_still_knows_whether_a_request_is_in_flight() {
        let table = Connections::new(1, 0);
        let t0 = Instant::now();
        let first = admitted(table.admit(net(1), t0));
        assert!(!first.is_busy());
        // Asked to close for a newcomer; a request began before its task
        // heard.
        assert!(matches!(table.admit(net(2), t0), Admission::Wait));
        first.begin();
        assert!(first.is_busy(), "its task lets the answer be written");
        first.end(t0);
        assert!(!first.is_busy(), "and then closes it");
    }

    #[test]
    fn a_closing_connection_still_answering_gives_its_slot_up_at_once() {
        let table = Connections::new(1, 0);
        let t0 = Instant::now();
        let first = admitted(table.admit(net(1), t0));
        assert!(matches!(table.admit(net(2), t0), Admission::Wait));
        first.begin();
        first.release();
        let _newcomer = admitted(table.admit(net(2), t0));
        drop(first);
        assert_eq!(table.len(), 1, "its drop frees nothing twice");
    }

    #[test]
    fn trusted_proxies_are_not_capped_per_network() {
        let table = Connections::new(100, 1);
        let t0 = Instant::now();
        let a = admitted(table.admit(None, t0));
        a.begin();
        let b = admitted(table.admit(None, t0));
        b.begin();
        assert_eq!(table.len(), 2);
    }
}
