//! Agent ids: the smallest free integer at or above the tenant's start.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::domain::Result;
use crate::store::entity::users;
use crate::store::sql_err;

/// The agent ids of a tenant in use at or above a start, handing out the free ones in order.
/// The unique index still decides: a concurrent writer that took the same id makes the insert
/// fail and the caller try again.
#[derive(Debug, Clone)]
pub struct AgentIds {
    taken: std::collections::BTreeSet<i64>,
    next: i64,
}

impl AgentIds {
    /// Loads the ids in use.
    pub async fn load(db: &impl ConnectionTrait, tenant_id: &str, start: i64) -> Result<AgentIds> {
        let taken: Vec<Option<String>> = users::Entity::find()
            .select_only()
            .column(users::Column::AgentId)
            .filter(users::Column::TenantId.eq(tenant_id))
            .filter(users::Column::AgentId.is_not_null())
            .into_tuple()
            .all(db)
            .await
            .map_err(|e| sql_err(e, "user"))?;
        Ok(AgentIds {
            taken: taken
                .into_iter()
                .flatten()
                .filter_map(|s| s.parse().ok())
                .filter(|n| *n >= start)
                .collect(),
            next: start,
        })
    }

    /// Marks an id as taken (one given explicitly).
    pub fn take(&mut self, id: &str) {
        if let Ok(n) = id.parse() {
            self.taken.insert(n);
        }
    }

    /// Gives back an id [`allocate`](Self::allocate) handed out that was not used after all,
    /// so the next user takes it.
    pub fn release(&mut self, id: &str) {
        if let Ok(n) = id.parse::<i64>()
            && self.taken.remove(&n)
        {
            self.next = self.next.min(n);
        }
    }

    /// The smallest free id, marked as taken.
    pub fn allocate(&mut self) -> String {
        while self.taken.contains(&self.next) {
            self.next += 1;
        }
        self.taken.insert(self.next);
        self.next.to_string()
    }
}

/// The smallest agent id at or above `start` that no user of the tenant holds.
pub async fn next_agent_id(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    start: i64,
) -> Result<String> {
    Ok(AgentIds::load(db, tenant_id, start).await?.allocate())
}
