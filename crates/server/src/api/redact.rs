//! Other tenants' job ids in what a tenant reads.
//!
//! The scheduler's reasons and a job's events name the jobs that affect it ("behind job 22
//! which holds the reservation there", "preempted for job 27"). Those texts are written once,
//! for everyone; a tenant's token must not learn from them the ids of another tenant's jobs
//! (which `show` answers as "not found"). So the API rewrites them for a tenant caller, where
//! they are rendered: `job 27` becomes `a job of another tenant` unless job 27 is the
//! caller's. Admins and the open (loopback, no tokens) mode see the texts as written.
//! Engine ids (`Slurm job 4021`) are not Spillway ids and are left alone.

use super::auth::Caller;
use crate::job::{JobEvent, JobId};
use crate::service::Service;
use crate::store::StoreError;
use std::collections::BTreeSet;

/// Words before `job N` that make N an engine's id, not a Spillway job id.
const ENGINE_WORDS: &[&str] = &["Slurm", "Ray", "engine"];

/// What another tenant's job is called instead of its id.
const OTHER: &str = "a job of another tenant";

/// One mention of a Spillway job id in a text: the byte range of `job N` and N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mention {
    start: usize,
    end: usize,
    id: i64,
}

/// Every `job N` in `text` that names a Spillway job.
fn mentions(text: &str) -> Vec<Mention> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = text[from..].find("job ") {
        let start = from + pos;
        from = start + 4;
        // A word of its own: not the end of `subjob` or `jobs`.
        if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
            continue;
        }
        let digits = bytes[start + 4..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 {
            continue;
        }
        let end = start + 4 + digits;
        if bytes
            .get(end)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            continue;
        }
        let before = text[..start].trim_end();
        let word = before
            .rsplit(|c: char| !c.is_alphanumeric())
            .next()
            .unwrap_or_default();
        if ENGINE_WORDS.contains(&word) {
            continue;
        }
        if let Ok(id) = text[start + 4..end].parse::<i64>() {
            out.push(Mention { start, end, id });
        }
    }
    out
}

/// Every `job(s) 3, 4` list in `text`: its byte range and ids.
fn lists(text: &str) -> Vec<(usize, usize, Vec<i64>)> {
    const PREFIX: &str = "job(s) ";
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = text[from..].find(PREFIX) {
        let start = from + pos;
        let mut end = start + PREFIX.len();
        from = end;
        let mut ids = Vec::new();
        loop {
            let digits = text[end..].bytes().take_while(u8::is_ascii_digit).count();
            let Ok(id) = text[end..end + digits].parse::<i64>() else {
                break;
            };
            ids.push(id);
            end += digits;
            if text[end..].starts_with(", ")
                && text[end + 2..]
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_digit())
            {
                end += 2;
            } else {
                break;
            }
        }
        if !ids.is_empty() {
            out.push((start, end, ids));
            from = end;
        }
    }
    out
}

/// Every job id a text mentions, singly or in lists.
fn mentioned_ids(text: &str) -> impl Iterator<Item = i64> + '_ {
    mentions(text)
        .into_iter()
        .map(|m| m.id)
        .chain(lists(text).into_iter().flat_map(|(_, _, ids)| ids))
}

/// `text` with the jobs of `hidden` named as another tenant's: `job 27` becomes "a job of
/// another tenant", and a list `job(s) 3, 27` keeps the ids the caller may see and counts
/// the others ("job(s) 3 and 1 of other tenants").
fn rewrite(text: &str, hidden: &BTreeSet<i64>) -> String {
    let singles = rewrite_singles(text, hidden);
    let mut out = String::with_capacity(singles.len());
    let mut copied = 0;
    for (start, end, ids) in lists(&singles) {
        let (shown, others): (Vec<i64>, Vec<i64>) =
            ids.into_iter().partition(|id| !hidden.contains(id));
        if others.is_empty() {
            continue;
        }
        out.push_str(&singles[copied..start]);
        let shown: Vec<String> = shown.iter().map(ToString::to_string).collect();
        if shown.is_empty() {
            out.push_str(&format!("{} job(s) of other tenants", others.len()));
        } else {
            out.push_str(&format!(
                "job(s) {} and {} of other tenants",
                shown.join(", "),
                others.len()
            ));
        }
        copied = end;
    }
    out.push_str(&singles[copied..]);
    out
}

/// `text` with every single mention (`job 27`) of a job in `hidden` replaced.
fn rewrite_singles(text: &str, hidden: &BTreeSet<i64>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for m in mentions(text)
        .into_iter()
        .filter(|m| hidden.contains(&m.id))
    {
        // "higher-priority job 27" reads "a higher-priority job of another tenant".
        let adjective = "higher-priority ";
        if text[copied..m.start].ends_with(adjective) {
            out.push_str(&text[copied..m.start - adjective.len()]);
            out.push_str("a higher-priority job of another tenant");
        } else {
            out.push_str(&text[copied..m.start]);
            out.push_str(OTHER);
        }
        copied = m.end;
    }
    out.push_str(&text[copied..]);
    out
}

/// Rewrites texts for one caller: knows which of the ids they mention it may not see.
#[derive(Debug, Default)]
pub(crate) struct Redactor {
    /// Ids of jobs the caller may not see (other tenants', or unknown).
    hidden: BTreeSet<i64>,
}

impl Redactor {
    /// The redactor for `caller` over these texts: looks up the tenant of every job they
    /// mention (none for an admin or the open mode, who see every id).
    pub(crate) async fn new<'a>(
        service: &Service,
        caller: &Caller,
        texts: impl IntoIterator<Item = &'a str>,
    ) -> Result<Redactor, StoreError> {
        let mut hidden = BTreeSet::new();
        if !matches!(caller, Caller::Tenant(_)) {
            return Ok(Redactor { hidden });
        }
        let ids: BTreeSet<i64> = texts.into_iter().flat_map(mentioned_ids).collect();
        for id in ids {
            let visible = match service.store.job(JobId(id)).await? {
                Some(j) => caller.may_see(&j.tenant),
                None => false,
            };
            if !visible {
                hidden.insert(id);
            }
        }
        Ok(Redactor { hidden })
    }

    /// A text as the caller may read it.
    pub(crate) fn text(&self, text: &str) -> String {
        if self.hidden.is_empty() {
            return text.to_string();
        }
        rewrite(text, &self.hidden)
    }

    /// Events as the caller may read them.
    pub(crate) fn events(&self, events: Vec<JobEvent>) -> Vec<JobEvent> {
        if self.hidden.is_empty() {
            return events;
        }
        events
            .into_iter()
            .map(|e| JobEvent {
                message: self.text(&e.message),
                ..e
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hidden(ids: &[i64]) -> BTreeSet<i64> {
        ids.iter().copied().collect()
    }

    #[test]
    fn finds_spillway_ids_but_not_engine_ids_or_other_words() {
        let ids: Vec<i64> = mentions(
            "job 3 waits behind job 22; Slurm job 4021 ran; subjob 5, jobs 6, job 7x, job 8.",
        )
        .iter()
        .map(|m| m.id)
        .collect();
        assert_eq!(ids, vec![3, 22, 8]);
    }

    #[test]
    fn names_hidden_jobs_as_another_tenants() {
        let h = hidden(&[22, 27]);
        assert_eq!(
            rewrite(
                "waiting for H100:8 on pool local (3 free now), behind job 22 which holds the reservation there",
                &h
            ),
            "waiting for H100:8 on pool local (3 free now), behind a job of another tenant which holds the reservation there"
        );
        assert_eq!(
            rewrite("preempted for job 27 (exit code 143)", &h),
            "preempted for a job of another tenant (exit code 143)"
        );
        assert_eq!(
            rewrite(
                "being preempted to make room for higher-priority job 27; it will be requeued",
                &h
            ),
            "being preempted to make room for a higher-priority job of another tenant; it will be requeued"
        );
        // Its own id, and ids the caller may see, stay.
        assert_eq!(
            rewrite("job 5 is queued behind job 6", &h),
            "job 5 is queued behind job 6"
        );
        // A longer id that starts with a hidden one is another job.
        assert_eq!(rewrite("behind job 220", &h), "behind job 220");
        assert_eq!(
            rewrite(
                "preempting lower-priority job(s) 22, 27 on pool gpu to make room",
                &h
            ),
            "preempting lower-priority 2 job(s) of other tenants on pool gpu to make room"
        );
        assert_eq!(
            rewrite("preempting lower-priority job(s) 3, 27, 4 on pool gpu", &h),
            "preempting lower-priority job(s) 3, 4 and 1 of other tenants on pool gpu"
        );
        assert_eq!(
            rewrite("preempting lower-priority job(s) 3, 4 on pool gpu", &h),
            "preempting lower-priority job(s) 3, 4 on pool gpu"
        );
        let ids: Vec<i64> = mentioned_ids("behind job 5; job(s) 6, 7").collect();
        assert_eq!(ids, vec![5, 6, 7]);
    }
}
