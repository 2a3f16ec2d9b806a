//! Reports, cases and decisions, on both backends: a reporter's repeat
//! report finds the first; every report on one target joins one open case,
//! however concurrent; the queue is ordered by severity, reporters and age
//! and pages without gaps; exactly one decision claims a case; a decision
//! whose ledger entry was never written is undone.

use std::sync::Arc;

use sovereel_model::moderation::{
    Action, CaseKind, CaseState, Ground, LabelKind, ReportCategory, TargetKind,
};
use sovereel_store::testing::TestDatabases;
use sovereel_store::*;

struct Fixture {
    region: Arc<dyn RegionStore>,
    catalog: Arc<dyn CatalogStore>,
    _dbs: TestDatabases,
}

async fn fixture(backend: Backend) -> Fixture {
    let mut dbs = TestDatabases::new(backend);
    let region_url = dbs.url("au");
    let catalog_url = dbs.url("catalog");
    Fixture {
        region: open_region(&region_url).await.expect("open region"),
        catalog: open_catalog(&catalog_url).await.expect("open catalog"),
        _dbs: dbs,
    }
}

fn report(id: &str, reporter: &str, target: &str, category: ReportCategory) -> ReportRecord {
    ReportRecord {
        id: id.into(),
        reporter_id: reporter.into(),
        target_kind: TargetKind::Video,
        target_id: target.into(),
        category,
        details: String::new(),
        case_id: None,
        created_at: 10,
    }
}

fn case_report(target: &str, category: ReportCategory, at: i64) -> CaseReport {
    CaseReport {
        target_kind: TargetKind::Video,
        target_id: target.into(),
        subject_id: "au_creator".into(),
        category,
        at,
    }
}

fn decision(id: &str, case: &CaseRecord, action: Action) -> DecisionRecord {
    DecisionRecord {
        id: id.into(),
        case_id: case.id.clone(),
        case_kind: case.kind,
        subject_id: case.subject_id.clone(),
        target_kind: case.target_kind,
        target_id: case.target_id.clone(),
        action,
        label: (action == Action::Label).then_some(LabelKind::Misleading),
        note: None,
        categories: case.categories.clone(),
        ground: Ground::Terms,
        reference: "Terms §4".into(),
        facts: "facts".into(),
        automated: false,
        territorial_scope: "worldwide".into(),
        redress: "appeal".into(),
        moderator_id: "staff-a".into(),
        appeal_of: None,
        restore: None,
        case_opened_at: case.created_at,
        ledger_index: None,
        created_at: 100,
        reversed_at: None,
    }
}

async fn repeat_reports_find_the_first_and_join_one_case(f: Fixture) {
    let first = report("au_r1", "au_alice", "au_v1", ReportCategory::Spam);
    let (stored, new) = f.region.create_report(&first).await.unwrap();
    assert!(new);
    assert_eq!(stored, first);
    let again = report("au_r2", "au_alice", "au_v1", ReportCategory::Hate);
    let (stored, new) = f.region.create_report(&again).await.unwrap();
    assert!(!new, "a repeat report is not a new one");
    assert_eq!(stored.id, "au_r1");
    assert_eq!(stored.category, ReportCategory::Spam);
    f.region.set_report_case("au_r1", "au_case").await.unwrap();
    let (stored, _) = f.region.create_report(&again).await.unwrap();
    assert_eq!(stored.case_id.as_deref(), Some("au_case"));
    assert_eq!(
        f.region.reported_by("au_alice", 10).await.unwrap(),
        vec![(TargetKind::Video, "au_v1".to_string())]
    );

    let a = f
        .region
        .join_case("au_c1", &case_report("au_v1", ReportCategory::Spam, 1))
        .await
        .unwrap();
    let b = f
        .region
        .join_case("au_c2", &case_report("au_v1", ReportCategory::Violence, 2))
        .await
        .unwrap();
    assert_eq!(a.id, "au_c1");
    assert_eq!(b.id, "au_c1", "a second report joins the open case");
    assert_eq!(b.reports_count, 2);
    assert_eq!(
        b.categories,
        vec![ReportCategory::Violence, ReportCategory::Spam],
        "most severe first"
    );
    assert_eq!(b.severity, ReportCategory::Violence.severity());

    // Many reports at once still make one case, counted exactly.
    let joins = (0..24).map(|i| {
        let store = f.region.clone();
        tokio::spawn(async move {
            store
                .join_case(
                    &format!("au_race{i}"),
                    &case_report("au_v2", ReportCategory::Spam, 5),
                )
                .await
                .unwrap()
        })
    });
    let mut ids = std::collections::HashSet::new();
    for j in joins.collect::<Vec<_>>() {
        ids.insert(j.await.unwrap().id);
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    let id = ids.into_iter().next().unwrap();
    assert_eq!(f.region.case(&id).await.unwrap().unwrap().reports_count, 24);
}

async fn the_queue_orders_by_severity_reporters_and_age(f: Fixture) {
    // A flood of spam reports on one video, single reports elsewhere.
    for i in 0..50 {
        f.region
            .join_case(
                "au_flood",
                &case_report("au_flood_v", ReportCategory::Spam, 100 + i),
            )
            .await
            .unwrap();
    }
    f.region
        .join_case(
            "au_old_spam",
            &case_report("au_v_old", ReportCategory::Spam, 1),
        )
        .await
        .unwrap();
    f.region
        .join_case(
            "au_new_spam",
            &case_report("au_v_new", ReportCategory::Spam, 500),
        )
        .await
        .unwrap();
    f.region
        .join_case(
            "au_harm",
            &case_report("au_v_harm", ReportCategory::SelfHarm, 900),
        )
        .await
        .unwrap();
    let all = f.region.case_queue(None, 100).await.unwrap();
    let order: Vec<&str> = all.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(order, ["au_harm", "au_flood", "au_old_spam", "au_new_spam"]);
    // Pages of one cover the queue exactly once.
    let mut seen = vec![];
    let mut after: Option<QueueCursor> = None;
    loop {
        let page = f.region.case_queue(after.as_ref(), 1).await.unwrap();
        let Some(c) = page.first() else { break };
        seen.push(c.id.clone());
        let cur = c.queue_cursor();
        assert_eq!(QueueCursor::decode(&cur.encode()), Some(cur.clone()));
        after = Some(cur);
    }
    assert_eq!(seen, order);
    let counts = f.region.queue_counts("nobody").await.unwrap();
    assert_eq!((counts.open, counts.unassigned, counts.mine), (4, 4, 0));
}

async fn one_decision_claims_a_case(f: Fixture) {
    let case = f
        .region
        .join_case(
            "au_c",
            &case_report("au_v", ReportCategory::Misinformation, 1),
        )
        .await
        .unwrap();
    // Not assigned: nobody claims it.
    assert!(
        !f.region
            .claim_case(&decision("au_d0", &case, Action::Label), "staff-a")
            .await
            .unwrap()
    );
    assert!(f.region.assign_case("au_c", "staff-a").await.unwrap());
    assert!(
        !f.region.assign_case("au_c", "staff-b").await.unwrap(),
        "taken by someone else"
    );
    let claims = (0..8).map(|i| {
        let store = f.region.clone();
        let d = decision(&format!("au_d{i}"), &case, Action::Label);
        tokio::spawn(async move { store.claim_case(&d, "staff-a").await.unwrap() })
    });
    let mut won = vec![];
    for c in claims.collect::<Vec<_>>() {
        won.push(c.await.unwrap());
    }
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{won:?}");
    let claimed = f.region.case("au_c").await.unwrap().unwrap();
    assert_eq!(claimed.state, CaseState::Deciding);
    assert!(f.region.case_queue(None, 10).await.unwrap().is_empty());
    let pending = f.region.pending_decisions().await.unwrap();
    assert_eq!(pending.len(), 1);
    let d = &pending[0];
    assert!(
        f.region
            .decisions_about("au_creator", None, 10)
            .await
            .unwrap()
            .is_empty(),
        "an unrecorded decision is not shown"
    );
    let fx = DecisionEffects {
        outbox: vec![OutboxItem::new(
            Target::Catalog,
            Change::SetLabels {
                video_id: "au_v".into(),
                labels: vec!["misleading".into()],
                note: Some("see the fact check".into()),
            },
        )],
        ..Default::default()
    };
    assert!(f.region.finish_decision(&d.id, 7, &fx, 200).await.unwrap());
    assert!(
        !f.region.finish_decision(&d.id, 8, &fx, 200).await.unwrap(),
        "finished once"
    );
    assert_eq!(f.region.pending_changes(10).await.unwrap().len(), 1);
    let closed = f.region.case("au_c").await.unwrap().unwrap();
    assert_eq!(closed.state, CaseState::Closed);
    let mine = f
        .region
        .decisions_about("au_creator", None, 10)
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].ledger_index, Some(7));
    assert_eq!(mine[0].label, Some(LabelKind::Misleading));

    // An appeal, decided by reversal, marks the decision reversed.
    let appeal = CaseRecord {
        id: "au_appeal".into(),
        kind: CaseKind::Appeal,
        appeal_of: Some(d.id.clone()),
        appeal_text: Some("it is true".into()),
        decided_by: Some("staff-a".into()),
        assignee: Some("staff-b".into()),
        created_at: 300,
        ..closed.clone()
    };
    let appeal = CaseRecord {
        state: CaseState::Open,
        closed_at: None,
        ..appeal
    };
    f.region.create_case(&appeal).await.unwrap();
    assert!(matches!(
        f.region
            .create_case(&CaseRecord {
                id: "au_appeal2".into(),
                ..appeal.clone()
            })
            .await,
        Err(StoreError::Conflict("appeal"))
    ));
    let mut reverse = decision("au_rev", &appeal, Action::Reverse);
    reverse.appeal_of = Some(d.id.clone());
    reverse.moderator_id = "staff-b".into();
    assert!(f.region.claim_case(&reverse, "staff-b").await.unwrap());
    assert!(
        f.region
            .finish_decision("au_rev", 9, &DecisionEffects::default(), 400)
            .await
            .unwrap()
    );
    let original = f.region.decision(&d.id).await.unwrap().unwrap();
    assert_eq!(original.reversed_at, Some(400));
    let on = f
        .region
        .decisions_on(TargetKind::Video, "au_v")
        .await
        .unwrap();
    assert_eq!(
        on.iter().map(|d| d.action).collect::<Vec<_>>(),
        [Action::Label, Action::Reverse]
    );
}

async fn an_unrecorded_decision_is_undone(f: Fixture) {
    let case = f
        .region
        .join_case("au_c", &case_report("au_v", ReportCategory::Spam, 1))
        .await
        .unwrap();
    f.region.assign_case("au_c", "staff-a").await.unwrap();
    assert!(
        f.region
            .claim_case(&decision("au_d", &case, Action::Remove), "staff-a")
            .await
            .unwrap()
    );
    assert!(f.region.abandon_decision("au_d").await.unwrap());
    assert!(!f.region.abandon_decision("au_d").await.unwrap());
    let back = f.region.case("au_c").await.unwrap().unwrap();
    assert_eq!(back.state, CaseState::Open, "the case is open again");
    assert!(f.region.decision("au_d").await.unwrap().is_none());
    // Another report still joins it, and it can be decided afresh.
    let joined = f
        .region
        .join_case("au_other", &case_report("au_v", ReportCategory::Spam, 2))
        .await
        .unwrap();
    assert_eq!(joined.id, "au_c");
    assert!(
        f.region
            .claim_case(&decision("au_d2", &case, Action::Dismiss), "staff-a")
            .await
            .unwrap()
    );
}

async fn deleting_a_comment_takes_its_replies(f: Fixture) {
    let c = |id: &str, parent: Option<&str>| CommentRecord {
        id: id.into(),
        video_id: "au_v".into(),
        author_id: "au_b".into(),
        author_handle: "bob".into(),
        text: format!("text {id}"),
        parent_id: parent.map(str::to_string),
        created_at: 1,
        replies_count: 0,
    };
    let mut seq = 0;
    for cm in [
        c("au_c1", None),
        c("au_c2", Some("au_c1")),
        c("au_c3", Some("au_c1")),
        c("au_c4", None),
    ] {
        seq += 1;
        f.catalog
            .apply_change("au", seq, &Change::InsertComment { comment: cm })
            .await
            .unwrap();
    }
    let change = |id: &str| Change::DeleteComment {
        id: id.into(),
        video_id: "au_v".into(),
    };
    f.catalog
        .apply_change("au", 10, &change("au_c2"))
        .await
        .unwrap();
    let parent = f.catalog.comment("au_c1").await.unwrap().unwrap();
    assert_eq!(parent.replies_count, 1, "a deleted reply leaves its parent");
    f.catalog
        .apply_change("au", 11, &change("au_c1"))
        .await
        .unwrap();
    assert!(f.catalog.comment("au_c3").await.unwrap().is_none());
    let left = f.catalog.comments("au_v", None, None, 10).await.unwrap();
    assert_eq!(
        left.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["au_c4"]
    );
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name(super::fixture(sovereel_store::Backend::Sqlite).await).await } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name(super::fixture(sovereel_store::Backend::Postgres).await).await } )*
        }
    };
}

conformance!(
    repeat_reports_find_the_first_and_join_one_case,
    the_queue_orders_by_severity_reporters_and_age,
    one_decision_claims_a_case,
    an_unrecorded_decision_is_undone,
    deleting_a_comment_takes_its_replies,
);
