//! Organisations, tokens, products, firmware releases and assessments: what enters the registry.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::Row;
use utoipa::ToSchema;

use crate::auth::{Caller, Role};
use crate::problem::{ApiResult, Problem};
use crate::server::AppState;
use crate::store::{audit, Audit};
use crate::util;

pub const ORG_KINDS: [&str; 3] = ["maker", "lab", "operator"];

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrg {
    pub name: String,
    /// `maker`, `lab` or `operator`.
    pub kind: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct Org {
    pub id: String,
    pub name: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub role: Role,
    /// Organisation id or name (required for certifier, maker and operator tokens).
    #[serde(default)]
    pub org: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IssuedToken {
    pub id: String,
    /// Shown once: only its SHA-256 is stored.
    pub token: String,
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// `http://` or `https://` URL that receives the organisation's notices (POST, JSON, signed).
    pub url: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Submitted {
    pub id: String,
    pub firmware_id: String,
    pub product_id: String,
    pub maker: String,
    pub report_sha256: String,
    pub image_sha256: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AssessmentInfo {
    pub id: String,
    pub firmware_id: String,
    pub maker: String,
    pub model: String,
    pub hardware_version: String,
    pub firmware_version: String,
    pub image_sha256: String,
    pub report_sha256: String,
    pub profile: String,
    pub tool_version: String,
    pub generated_at: String,
    pub submitted_by: String,
    pub created_at: String,
}

/// Where a submission says the product comes from, beyond the report itself.
#[derive(Debug, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SubmitParams {
    /// The maker's organisation id or name (a maker's own token implies it).
    pub maker: Option<String>,
    /// Last day of the security-update support period, `YYYY-MM-DD` (EN 303 645 5.3-13).
    pub support_end: Option<String>,
}

pub async fn create_org(st: &AppState, who: &Caller, n: NewOrg) -> ApiResult<Org> {
    who.require(&[Role::Admin])?;
    let name = n.name.trim();
    if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        return Err(Problem::invalid("`name`: 1-200 printable characters"));
    }
    if !ORG_KINDS.contains(&n.kind.as_str()) {
        return Err(Problem::invalid(format!(
            "`kind`: one of {}",
            ORG_KINDS.join(", ")
        )));
    }
    let org = Org {
        id: util::new_id(),
        name: name.to_string(),
        kind: n.kind,
        webhook_url: None,
        created_at: util::now(),
    };
    let mut tx = st.store.write().await?;
    sqlx::query("INSERT INTO organisations (id, name, kind, webhook_url, created_at) VALUES ($1, $2, $3, NULL, $4)")
        .bind(&org.id)
        .bind(&org.name)
        .bind(&org.kind)
        .bind(&org.created_at)
        .execute(&mut *tx)
        .await?;
    audit(
        &mut tx,
        Audit {
            actor: &who.actor(),
            action: "org.create",
            subject: &org.id,
            before: Value::Null,
            after: json!(org),
        },
    )
    .await?;
    tx.commit().await?;
    st.changed();
    Ok(org)
}

pub async fn list_orgs(st: &AppState, who: &Caller) -> ApiResult<Vec<Org>> {
    who.require(&[Role::Admin, Role::Certifier])?;
    let rows = sqlx::query(
        "SELECT id, name, kind, webhook_url, created_at FROM organisations ORDER BY name",
    )
    .fetch_all(&st.store.pool)
    .await?;
    rows.iter()
        .map(org_row)
        .collect::<Result<_, _>>()
        .map_err(Into::into)
}

fn org_row(r: &sqlx::any::AnyRow) -> Result<Org, sqlx::Error> {
    Ok(Org {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        webhook_url: r.try_get("webhook_url")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Finds an organisation by id or exact name.
pub async fn find_org(st: &AppState, key: &str) -> ApiResult<Option<Org>> {
    let row = sqlx::query("SELECT id, name, kind, webhook_url, created_at FROM organisations WHERE id = $1 OR name = $1")
        .bind(key)
        .fetch_optional(&st.store.pool)
        .await?;
    Ok(row.as_ref().map(org_row).transpose()?)
}

/// [`find_org`] for a request field: an unknown organisation is a 422 naming the field.
async fn named_org(st: &AppState, key: &str, field: &str) -> ApiResult<Org> {
    find_org(st, key)
        .await?
        .ok_or_else(|| Problem::invalid(format!("`{field}`: no organisation {key:?}")))
}

pub async fn create_token(st: &AppState, who: &Caller, n: NewToken) -> ApiResult<IssuedToken> {
    who.require(&[Role::Admin])?;
    if n.role == Role::Public {
        return Err(Problem::invalid("`role`: the public needs no token"));
    }
    let org = match (n.role.org_kind(), &n.org) {
        (Some(kind), Some(key)) => {
            let o = named_org(st, key, "org").await?;
            if o.kind != kind {
                return Err(Problem::invalid(format!(
                    "`org`: a {} token belongs to a {kind} organisation; {} is a {}",
                    n.role.as_str(),
                    o.name,
                    o.kind
                )));
            }
            Some(o.id)
        }
        (Some(kind), None) => {
            return Err(Problem::invalid(format!(
                "`org`: a {} token needs a {kind} organisation",
                n.role.as_str()
            )))
        }
        (None, Some(_)) if n.role == Role::Admin => {
            return Err(Problem::invalid(
                "`org`: admin tokens belong to no organisation",
            ))
        }
        (None, org) => match org {
            Some(key) => Some(named_org(st, key, "org").await?.id),
            None => None,
        },
    };
    let token = util::new_token();
    let id = util::new_id();
    let label = n.label.unwrap_or_default();
    let mut tx = st.store.write().await?;
    insert_token(&mut tx, &id, &token, n.role, org.as_deref(), &label).await?;
    audit(
        &mut tx,
        Audit {
            actor: &who.actor(),
            action: "token.create",
            subject: &id,
            before: Value::Null,
            after: json!({"role": n.role, "org": org, "label": label}),
        },
    )
    .await?;
    tx.commit().await?;
    st.changed();
    Ok(IssuedToken {
        id,
        token,
        role: n.role,
        org,
    })
}

pub async fn insert_token(
    tx: &mut crate::store::Tx,
    id: &str,
    token: &str,
    role: Role,
    org: Option<&str>,
    label: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO tokens (id, token_hash, role, org_id, label, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, NULL)")
        .bind(id)
        .bind(util::sha256_hex(token.as_bytes()))
        .bind(role.as_str())
        .bind(org)
        .bind(label)
        .bind(util::now())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn revoke_token(st: &AppState, who: &Caller, id: &str) -> ApiResult<Value> {
    who.require(&[Role::Admin])?;
    if !util::is_id(id) {
        return Err(Problem::not_found("no such token"));
    }
    let mut tx = st.store.write().await?;
    let n = sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(util::now())
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(Problem::not_found("no such token, or already revoked"));
    }
    audit(
        &mut tx,
        Audit {
            actor: &who.actor(),
            action: "token.revoke",
            subject: id,
            before: json!({"revoked": false}),
            after: json!({"revoked": true}),
        },
    )
    .await?;
    tx.commit().await?;
    st.changed();
    Ok(json!({"id": id, "revoked": true}))
}

pub async fn set_webhook(st: &AppState, who: &Caller, org_id: &str, w: Webhook) -> ApiResult<Org> {
    who.require(&[Role::Admin, Role::Maker])?;
    let org = find_org(st, org_id)
        .await?
        .ok_or_else(|| Problem::not_found("no such organisation"))?;
    if who.role == Role::Maker && who.org.as_deref() != Some(org.id.as_str()) {
        return Err(Problem::forbidden(
            "a maker sets only its own organisation's webhook",
        ));
    }
    if let Some(u) = &w.url {
        if !(u.starts_with("http://") || u.starts_with("https://"))
            || u.len() > 2000
            || u.chars().any(char::is_whitespace)
        {
            return Err(Problem::invalid("`url`: an http:// or https:// URL"));
        }
    }
    let mut tx = st.store.write().await?;
    sqlx::query("UPDATE organisations SET webhook_url = $1 WHERE id = $2")
        .bind(&w.url)
        .bind(&org.id)
        .execute(&mut *tx)
        .await?;
    audit(
        &mut tx,
        Audit {
            actor: &who.actor(),
            action: "org.webhook",
            subject: &org.id,
            before: json!({"webhook_url": org.webhook_url}),
            after: json!({"webhook_url": w.url}),
        },
    )
    .await?;
    tx.commit().await?;
    st.changed();
    Ok(Org {
        webhook_url: w.url,
        ..org
    })
}

/// Checks a submitted report.json: valid JSON, the report schema, no field the model does not
/// know, firmware evidence with a SHA-256, and a product named.
pub fn validate_report(bytes: &[u8]) -> ApiResult<iotassure_assess::Report> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        Problem::bad_request(format!(
            "the body is not JSON (line {}, column {}): {e}",
            e.line(),
            e.column()
        ))
    })?;
    let report: iotassure_assess::Report = serde_json::from_value(value.clone())
        .map_err(|e| Problem::invalid(format!("not an iotassure report.json: {e}")))?;
    if report.schema != iotassure_assess::REPORT_SCHEMA {
        return Err(Problem::invalid(format!(
            "`schema` is {:?}; expected {:?}",
            report.schema,
            iotassure_assess::REPORT_SCHEMA
        )));
    }
    let major = iotassure_assess::REPORT_SCHEMA_VERSION
        .split('.')
        .next()
        .unwrap_or("1");
    if report.schema_version.split('.').next() != Some(major) {
        return Err(Problem::invalid(format!(
            "`schema_version` {} is not readable by this trust center (major {major})",
            report.schema_version
        )));
    }
    let back = serde_json::to_value(&report).map_err(|e| Problem::internal(e.to_string()))?;
    if let Some(path) = unknown_field(&value, &back, "") {
        return Err(Problem::invalid(format!(
            "unknown field `{path}` (the report model is closed)"
        )));
    }
    let fw = report
        .subject
        .firmware
        .as_ref()
        .ok_or_else(|| Problem::invalid("the report has no firmware evidence (`subject.firmware`): the registry lists firmware releases"))?;
    if !util::is_sha256(&fw.sha256) {
        return Err(Problem::invalid(
            "`subject.firmware.sha256` is not a SHA-256",
        ));
    }
    let p = &report.subject.product;
    if p.model.trim().is_empty() || p.firmware_version.trim().is_empty() {
        return Err(Problem::invalid(
            "`subject.product` needs `model` and `firmware_version` (assess with --ics STATEMENT, whose `product` names them)",
        ));
    }
    Ok(report)
}

/// The first path present in `given` but not in `known` (the model's own serialisation).
fn unknown_field(given: &Value, known: &Value, at: &str) -> Option<String> {
    match (given, known) {
        (Value::Object(g), Value::Object(k)) => {
            for (key, v) in g {
                let path = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                match k.get(key) {
                    None if v.is_null() || v == &json!([]) || v == &json!({}) => {}
                    None => return Some(path),
                    Some(kv) => {
                        if let Some(p) = unknown_field(v, kv, &path) {
                            return Some(p);
                        }
                    }
                }
            }
            None
        }
        (Value::Array(g), Value::Array(k)) => g
            .iter()
            .zip(k)
            .enumerate()
            .find_map(|(i, (gv, kv))| unknown_field(gv, kv, &format!("{at}[{i}]"))),
        _ => None,
    }
}

/// The maker a submission is for: a maker's own organisation (it may not name another), or
/// the maker organisation a lab names.
pub async fn resolve_maker(st: &AppState, who: &Caller, named: Option<&str>) -> ApiResult<String> {
    Ok(match (who.role, named) {
        (Role::Maker, None) => who.org.clone().unwrap_or_default(),
        (Role::Maker, Some(m)) => {
            let o = named_org(st, m, "maker").await?;
            if Some(&o.id) != who.org.as_ref() {
                return Err(Problem::forbidden(
                    "a maker submits assessments of its own products only",
                ));
            }
            o.id
        }
        (_, Some(m)) => {
            let o = named_org(st, m, "maker").await?;
            if o.kind != "maker" {
                return Err(Problem::invalid(format!(
                    "`maker`: {} is a {}, not a maker",
                    o.name, o.kind
                )));
            }
            o.id
        }
        (_, None) => {
            return Err(Problem::invalid(
                "`maker`: name the maker's organisation (id or name)",
            ))
        }
    })
}

/// Stores a submitted report: product and firmware release (created or matched), the
/// assessment (immutable) and the release's components, in one transaction.
pub async fn submit(
    st: &AppState,
    who: &Caller,
    params: SubmitParams,
    body: &[u8],
    digest: Option<&str>,
) -> ApiResult<Submitted> {
    who.require(&[Role::Certifier, Role::Maker])?;
    if let Some(d) = digest {
        check_digest(d, body)?;
    }
    let report = validate_report(body)?;
    let maker = resolve_maker(st, who, params.maker.as_deref()).await?;
    if let Some(d) = &params.support_end {
        if util::parse_date(d).is_none() {
            return Err(Problem::invalid("`support_end`: a date, YYYY-MM-DD"));
        }
    }
    let mut tx = st.store.write().await?;
    let done = store_report(
        &mut tx,
        who,
        &maker,
        params.support_end.as_deref(),
        body,
        &report,
    )
    .await?;
    tx.commit().await?;
    st.changed();
    Ok(done)
}

/// Stores a validated report inside `tx` (opened by [`crate::store::Store::write`]): the product
/// and firmware release (created or matched), the assessment (immutable) and the release's
/// components. The API's submission and the worker's both come here.
pub async fn store_report(
    tx: &mut crate::store::Tx,
    who: &Caller,
    maker: &str,
    support_end: Option<&str>,
    body: &[u8],
    report: &iotassure_assess::Report,
) -> ApiResult<Submitted> {
    let report_sha256 = util::sha256_hex(body);
    let maker = maker.to_string();
    let params_support_end: Option<String> = support_end.map(str::to_string);
    let fw = report.subject.firmware.as_ref().expect("validated");
    let p = &report.subject.product;
    let now = util::now();
    let product_id: Option<String> = sqlx::query_scalar(
        "SELECT id FROM products WHERE maker_id = $1 AND model = $2 AND hardware_version = $3",
    )
    .bind(&maker)
    .bind(&p.model)
    .bind(&p.hardware_version)
    .fetch_optional(&mut **tx)
    .await?;
    let product_id = match product_id {
        Some(id) => id,
        None => {
            let id = util::new_id();
            sqlx::query("INSERT INTO products (id, maker_id, model, hardware_version, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(&id)
                .bind(&maker)
                .bind(&p.model)
                .bind(&p.hardware_version)
                .bind(&now)
                .execute(&mut **tx)
                .await?;
            audit(tx, Audit {
                actor: &who.actor(),
                action: "product.create",
                subject: &id,
                before: Value::Null,
                after: json!({"maker": maker, "model": p.model, "hardware_version": p.hardware_version}),
            })
            .await?;
            id
        }
    };
    let sha = fw.sha256.to_ascii_lowercase();
    let existing =
        sqlx::query("SELECT id, product_id, version, support_end FROM firmware WHERE sha256 = $1")
            .bind(&sha)
            .fetch_optional(&mut **tx)
            .await?;
    let firmware_id = match existing {
        Some(r) => {
            let id: String = r.try_get("id")?;
            let pid: String = r.try_get("product_id")?;
            let version: String = r.try_get("version")?;
            if pid != product_id || version != p.firmware_version {
                return Err(Problem::conflict(format!(
                    "image {sha} is already registered as another product or version ({version})"
                )));
            }
            let old_end: Option<String> = r.try_get("support_end")?;
            if params_support_end.is_some() && params_support_end != old_end {
                sqlx::query("UPDATE firmware SET support_end = $1 WHERE id = $2")
                    .bind(&params_support_end)
                    .bind(&id)
                    .execute(&mut **tx)
                    .await?;
                audit(
                    tx,
                    Audit {
                        actor: &who.actor(),
                        action: "firmware.support_end",
                        subject: &id,
                        before: json!({"support_end": old_end}),
                        after: json!({"support_end": params_support_end}),
                    },
                )
                .await?;
            }
            id
        }
        None => {
            let id = util::new_id();
            sqlx::query("INSERT INTO firmware (id, product_id, version, sha256, size, support_end, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(&id)
                .bind(&product_id)
                .bind(&p.firmware_version)
                .bind(&sha)
                .bind(fw.size as i64)
                .bind(&params_support_end)
                .bind(&now)
                .execute(&mut **tx)
                .await?;
            audit(tx, Audit {
                actor: &who.actor(),
                action: "firmware.create",
                subject: &id,
                before: Value::Null,
                after: json!({"product": product_id, "version": p.firmware_version, "sha256": sha, "size": fw.size, "support_end": params_support_end}),
            })
            .await?;
            let mut seen = std::collections::HashSet::new();
            for c in &report.components {
                if c.version.is_empty() || !seen.insert((c.name.clone(), c.version.clone())) {
                    continue;
                }
                sqlx::query("INSERT INTO components (firmware_id, name, version, purl, cpe, method) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(&id)
                    .bind(&c.name)
                    .bind(&c.version)
                    .bind(&c.purl)
                    .bind(&c.cpe)
                    .bind(&c.method)
                    .execute(&mut **tx)
                    .await?;
            }
            id
        }
    };
    let id = util::new_id();
    let text =
        std::str::from_utf8(body).map_err(|_| Problem::bad_request("the body is not UTF-8"))?;
    sqlx::query("INSERT INTO assessments (id, firmware_id, submitted_by, report, report_sha256, profile, tool_version, generated_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(&id)
        .bind(&firmware_id)
        .bind(who.org.as_deref().unwrap_or(""))
        .bind(text)
        .bind(&report_sha256)
        .bind(&report.selected_profile)
        .bind(&report.tool.version)
        .bind(&report.generated_at)
        .bind(&now)
        .execute(&mut **tx)
        .await?;
    audit(tx, Audit {
        actor: &who.actor(),
        action: "assessment.submit",
        subject: &id,
        before: Value::Null,
        after: json!({"firmware": firmware_id, "report_sha256": report_sha256, "profile": report.selected_profile}),
    })
    .await?;
    Ok(Submitted {
        id,
        firmware_id,
        product_id,
        maker,
        report_sha256,
        image_sha256: sha,
    })
}

/// `Content-Digest: sha-256=:BASE64:` (RFC 9530), or a bare hex SHA-256.
fn check_digest(header: &str, body: &[u8]) -> ApiResult<()> {
    use base64::Engine;
    use sha2::Digest;
    let actual = sha2::Sha256::digest(body);
    let h = header.trim();
    let claimed = if let Some(rest) = h
        .strip_prefix("sha-256=:")
        .and_then(|r| r.strip_suffix(':'))
    {
        base64::engine::general_purpose::STANDARD
            .decode(rest)
            .map_err(|_| Problem::bad_request("Content-Digest: the sha-256 value is not base64"))?
    } else if util::is_sha256(h) {
        hex::decode(h).unwrap_or_default()
    } else {
        return Err(Problem::bad_request(
            "Content-Digest: expected `sha-256=:BASE64:`",
        ));
    };
    if claimed.as_slice() != actual.as_slice() {
        return Err(Problem::bad_request(format!(
            "Content-Digest does not match the body (the body's SHA-256 is {})",
            hex::encode(actual)
        )));
    }
    Ok(())
}

pub async fn assessment(
    st: &AppState,
    who: &Caller,
    id: &str,
) -> ApiResult<(AssessmentInfo, String)> {
    who.require(&[Role::Admin, Role::Certifier, Role::Maker])?;
    if !util::is_id(id) {
        return Err(Problem::not_found("no such assessment"));
    }
    let r = sqlx::query(
        "SELECT a.id, a.firmware_id, a.report, a.report_sha256, a.profile, a.tool_version, a.generated_at, a.submitted_by, a.created_at, \
         f.version, f.sha256, p.model, p.hardware_version, p.maker_id \
         FROM assessments a JOIN firmware f ON f.id = a.firmware_id JOIN products p ON p.id = f.product_id WHERE a.id = $1",
    )
    .bind(id)
    .fetch_optional(&st.store.pool)
    .await?
    .ok_or_else(|| Problem::not_found("no such assessment"))?;
    let maker: String = r.try_get("maker_id")?;
    if !who.may_see_org(&maker) {
        // The same answer as a missing id: a maker learns nothing about others' records.
        return Err(Problem::not_found("no such assessment"));
    }
    Ok((
        AssessmentInfo {
            id: r.try_get("id")?,
            firmware_id: r.try_get("firmware_id")?,
            maker,
            model: r.try_get("model")?,
            hardware_version: r.try_get("hardware_version")?,
            firmware_version: r.try_get("version")?,
            image_sha256: r.try_get("sha256")?,
            report_sha256: r.try_get("report_sha256")?,
            profile: r.try_get("profile")?,
            tool_version: r.try_get("tool_version")?,
            generated_at: r.try_get("generated_at")?,
            submitted_by: r.try_get("submitted_by")?,
            created_at: r.try_get("created_at")?,
        },
        r.try_get("report")?,
    ))
}
