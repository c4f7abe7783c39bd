//! A cache whose entries are only good for one audit generation (the chain's length): any state
//! change anywhere makes a new generation, so an instance never answers from before a change once
//! it has seen the new generation (at once for its own writes, within `server::POLL` for others').

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;

pub struct GenCache<K, V> {
    inner: RwLock<(i64, HashMap<K, V>)>,
    /// Past this many entries the cache starts again (bounded memory under hostile keys).
    cap: usize,
}

impl<K: Eq + Hash, V: Clone> GenCache<K, V> {
    pub fn new(cap: usize) -> Self {
        GenCache {
            inner: RwLock::new((0, HashMap::new())),
            cap,
        }
    }

    pub fn clear_if_stale(&self, generation: i64) {
        let mut g = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if g.0 != generation {
            g.0 = generation;
            g.1.clear();
        }
    }

    pub fn clear(&self) {
        self.inner
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .clear();
    }

    pub fn get<Q>(&self, k: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.inner
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .get(k)
            .cloned()
    }

    pub fn put(&self, k: K, v: V) {
        let mut g = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if g.1.len() >= self.cap {
            g.1.clear();
        }
        g.1.insert(k, v);
    }
}
