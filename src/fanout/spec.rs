//! A fan-out plan as JSON, for workers in other processes: the function's Step Functions
//! steps ([`crate::lambda::fanout`]) hand it from the plan to every worker and to the stitch.
//! It holds what the workers pin (the schema and the dialect), the ranges and the output's
//! metadata; the options themselves come from the function's configuration in every step.

use serde::{Deserialize, Serialize};

use super::Plan;
use crate::convert::InferredSchema;
use crate::decode::dialect::Dialect;
use crate::decode::sniff::{Sniff, UsedDialect};
use crate::error::{Error, Result};
use crate::schema::{SchemaSource, SchemaSpec};

/// A [`Plan`] that serializes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSpec {
    /// The ranges' starts, then the input's end.
    pub bounds: Vec<u64>,
    /// The schema every worker uses.
    pub schema: SchemaSpec,
    /// Where the schema came from (`inferred`, `explicit`, `partial`).
    pub schema_source: String,
    /// The dialect every worker uses.
    pub dialect: PinnedDialect,
    /// The whole output's key-value metadata.
    pub metadata: Vec<(String, String)>,
}

/// A dialect as bytes (the footer's JSON form names characters, for people).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinnedDialect {
    /// Field delimiter.
    pub delimiter: u8,
    /// Quote byte, if quoting is on.
    pub quote: Option<u8>,
    /// Escape byte inside quotes, if not doubling.
    pub escape: Option<u8>,
    /// Comment line prefix.
    pub comment: Option<u8>,
    /// Whether the first record is a header.
    pub header: bool,
    /// Lines skipped before the header.
    pub skip_rows: usize,
}

impl From<&Plan> for PlanSpec {
    fn from(plan: &Plan) -> Self {
        let used = &plan.inferred.dialect;
        let d = &used.dialect;
        PlanSpec {
            bounds: plan.bounds.clone(),
            schema: plan.inferred.schema.clone(),
            schema_source: plan.inferred.source.as_str().to_string(),
            dialect: PinnedDialect {
                delimiter: d.delimiter,
                quote: d.quote,
                escape: d.escape,
                comment: d.comment,
                header: d.has_header,
                skip_rows: used.skip_rows,
            },
            metadata: plan.metadata.clone(),
        }
    }
}

impl TryFrom<PlanSpec> for Plan {
    type Error = Error;

    /// The plan, checked: at least one range, ascending bounds, a valid dialect.
    fn try_from(spec: PlanSpec) -> Result<Plan> {
        let invalid = |what: &str| Error::Internal(format!("fan-out plan: {what}"));
        if spec.bounds.len() < 2 || spec.bounds.windows(2).any(|w| w[0] >= w[1]) {
            return Err(invalid("the bounds are not ascending ranges"));
        }
        let source = SchemaSource::parse(&spec.schema_source)
            .ok_or_else(|| invalid("unknown schema source"))?;
        let p = spec.dialect;
        let dialect = Dialect {
            delimiter: p.delimiter,
            quote: p.quote,
            escape: p.escape,
            comment: p.comment,
            has_header: p.header,
        };
        dialect.validate()?;
        Ok(Plan {
            bounds: spec.bounds,
            inferred: InferredSchema {
                schema: spec.schema,
                source,
                warnings: Vec::new(),
                dialect: UsedDialect {
                    dialect,
                    skip_rows: p.skip_rows,
                    sniffed: Sniff::NONE,
                },
            },
            metadata: spec.metadata,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConvertOptions;
    use crate::source::MemorySource;

    #[tokio::test]
    async fn a_plan_round_trips_through_json() {
        let csv = "exported by a tool\nid;name;when\n007;\"a;b\";2026-12-04\n8;c;2026-12-05\n9;d;2026-12-06\n".to_string();
        let source = MemorySource::new("x.csv", csv.into_bytes());
        let plan = super::super::plan(&source, &ConvertOptions::default(), 1, 1)
            .await
            .unwrap();
        let spec = PlanSpec::from(&plan);
        let json = serde_json::to_string(&spec).unwrap();
        let back: PlanSpec = serde_json::from_str(&json).unwrap();
        assert_eq!(back, spec);
        let again = Plan::try_from(back).unwrap();
        assert_eq!(again.bounds, plan.bounds);
        assert_eq!(again.inferred.schema, plan.inferred.schema);
        assert_eq!(
            again.inferred.dialect.dialect,
            plan.inferred.dialect.dialect
        );
        assert_eq!(again.inferred.dialect.skip_rows, 1);
        assert_eq!(again.metadata, plan.metadata);
    }

    #[test]
    fn a_bad_plan_is_refused() {
        let spec = |bounds: Vec<u64>, delimiter: u8| PlanSpec {
            bounds,
            schema: SchemaSpec::default(),
            schema_source: "inferred".into(),
            dialect: PinnedDialect {
                delimiter,
                quote: Some(b'"'),
                escape: None,
                comment: None,
                header: true,
                skip_rows: 0,
            },
            metadata: Vec::new(),
        };
        assert!(Plan::try_from(spec(vec![0, 10], b',')).is_ok());
        assert!(Plan::try_from(spec(vec![0], b',')).is_err());
        assert!(Plan::try_from(spec(vec![0, 10, 10], b',')).is_err());
        assert!(Plan::try_from(spec(vec![0, 10], b'"')).is_err());
    }
}
