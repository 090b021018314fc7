//! The queue of units being finished: with a second core, a unit's objects are encoded and
//! stored on a thread of their own while the batch's next unit is read (its Parquet is a third
//! of the work, and a PUT waits on the network). Reports are added in the order the units were
//! read, whatever order their threads end in, so the answer is the same either way.

use super::unit::UnitSinks;
use crate::error::IngestError;
use crate::report::{DatasetReport, InvocationReport};
use std::collections::VecDeque;
use std::thread::{Scope, ScopedJoinHandle};

/// Units of a batch whose objects may be in progress at once on threads of their own (each
/// holds its records' builders until its objects are written).
pub(crate) const MAX_UNITS_FINISHING: usize = 4;

/// What finishing a unit gives: its datasets and their reports.
type Finished = Result<Vec<(String, DatasetReport)>, IngestError>;

/// Units being finished, oldest first.
pub(crate) struct Finishers<'scope, 'env> {
    scope: &'scope Scope<'scope, 'env>,
    in_flight: VecDeque<ScopedJoinHandle<'scope, Finished>>,
    /// Threads at most; 0 finishes every unit on the caller's thread.
    threads: usize,
}

impl<'scope, 'env> Finishers<'scope, 'env> {
    /// A queue of at most `threads` units finishing at once on `scope`'s threads.
    pub(crate) fn new(scope: &'scope Scope<'scope, 'env>, threads: usize) -> Self {
        Finishers {
            scope,
            in_flight: VecDeque::new(),
            threads,
        }
    }

    /// Finishes `unit` (the batch's last when `last`), here or on a thread of its own, and adds
    /// the reports of the units done so far to `report`, in unit order. A unit's failure is
    /// returned as soon as it is seen, so that a store fault stops the batch early rather than
    /// after every unit has been read.
    pub(crate) fn push(
        &mut self,
        unit: UnitSinks<'env>,
        last: bool,
        report: &mut InvocationReport,
    ) -> Result<(), IngestError> {
        if self.threads == 0 {
            return add(report, unit.finish());
        }
        if last {
            // The last unit is finished here, while the others may still be; the reports are
            // added in unit order all the same.
            let finished = unit.finish();
            self.drain(report)?;
            return add(report, finished);
        }
        if self.in_flight.len() == self.threads
            && let Some(oldest) = self.in_flight.pop_front()
        {
            add(report, join(oldest))?;
        }
        self.in_flight
            .push_back(self.scope.spawn(move || unit.finish()));
        // Units whose objects are done report now.
        while self.in_flight.front().is_some_and(|h| h.is_finished()) {
            if let Some(done) = self.in_flight.pop_front() {
                add(report, join(done))?;
            }
        }
        Ok(())
    }

    /// Waits for every unit still being finished and adds its reports, in unit order.
    pub(crate) fn drain(&mut self, report: &mut InvocationReport) -> Result<(), IngestError> {
        while let Some(unit) = self.in_flight.pop_front() {
            add(report, join(unit))?;
        }
        Ok(())
    }
}

/// Waits for a unit's thread.
fn join(unit: ScopedJoinHandle<'_, Finished>) -> Finished {
    unit.join()
        .map_err(|_| IngestError::WorkerLost("finishing a partition's objects"))?
}

/// Adds a finished unit's reports.
fn add(report: &mut InvocationReport, finished: Finished) -> Result<(), IngestError> {
    for (dataset, r) in finished? {
        report.add(&dataset, r);
    }
    Ok(())
}
