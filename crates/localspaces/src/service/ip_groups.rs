//! IP access control groups: CreateIpGroup, DescribeIpGroups, DeleteIpGroup,
//! AuthorizeIpRules, RevokeIpRules, UpdateRulesOfIpGroup.

use super::tables::directories::{WsDirectory, IP_GROUP_INDEX};
use super::tables::ids::new_id;
use super::tables::ip_groups::{IpGroup, IpRule};
use super::tables::{invalid, new_tags, not_found, pagination, Conflict, Context, Resource, Service};
use localspaces_api::workspaces::{self as ws, Error, ErrorCode, IpRuleItem};
use localspaces_store::{Expect, IndexEntry, Write};
use std::net::Ipv4Addr;

/// The lost race of a change to a group.
const CHANGED: Conflict = Conflict::Changed("IP access control group");

/// True for an IPv4 address or CIDR block (`10.0.0.0/16`; a bare address means /32).
fn is_ipv4_cidr(s: &str) -> bool {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let prefix_ok = match prefix {
        None => true,
        Some(p) => {
            !p.is_empty()
                && p.len() <= 2
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u8>().is_ok_and(|n| n <= 32)
        }
    };
    prefix_ok && addr.parse::<Ipv4Addr>().is_ok()
}

/// Validates rules from a request (CIDR syntax, no duplicates among themselves or `existing`).
fn check_rules(items: &[IpRuleItem], existing: &[IpRule]) -> Result<Vec<IpRule>, Error> {
    let mut out: Vec<IpRule> = Vec::with_capacity(items.len());
    for item in items {
        let Some(rule) = item.ip_rule.as_deref() else {
            return Err(invalid("Each IP rule must have an ipRule (a CIDR block)."));
        };
        if !is_ipv4_cidr(rule) {
            return Err(invalid(format!(
                "The IP rule {rule} is not a valid IPv4 address or CIDR block."
            )));
        }
        if existing.iter().chain(out.iter()).any(|r| r.rule == rule) {
            // Inferred: AWS refuses a CIDR that is already a rule of the group.
            return Err(invalid(format!(
                "The IP rule {rule} is duplicated in the IP access control group."
            )));
        }
        out.push(IpRule {
            rule: rule.to_string(),
            desc: item.rule_desc.clone(),
        });
    }
    Ok(out)
}

fn rule_limit(svc: &Service, n: usize) -> Result<(), Error> {
    let max = svc.limits.rules_per_ip_group;
    if n > max {
        return Err(Error::new(
            ErrorCode::ResourceLimitExceededException,
            format!(
                "An IP access control group can have at most {max} rules; this request would give it {n}."
            ),
        ));
    }
    Ok(())
}

fn group_not_found(id: &str) -> Error {
    not_found("IP access control group", id)
}

pub fn create_ip_group(
    svc: &Service,
    cx: &Context,
    input: ws::CreateIpGroupRequest,
) -> Result<ws::CreateIpGroupResult, Error> {
    // The model puts no length on the name, but a group needs one.
    if input.group_name.trim().is_empty() {
        return Err(invalid("The IP access control group name must not be empty."));
    }
    let rules = check_rules(input.user_rules.as_deref().unwrap_or_default(), &[])?;
    rule_limit(svc, rules.len())?;
    let stored_tags = new_tags(input.tags.as_deref(), svc.limits.tags_per_resource)?;
    let group = IpGroup {
        id: new_id("wsipg-", 9),
        name: input.group_name,
        desc: input.group_desc,
        rules,
        tags: stored_tags,
        created: svc.clock.now(),
    };
    let duplicate = format!("An IP access control group named {} already exists.", group.name);
    let over_limit = format!(
        "You have reached the limit of {} IP access control groups in this Region.",
        svc.limits.ip_groups
    );
    // Another process may take the name or the last slot between the checks and the commit.
    let race = || match svc.count::<IpGroup>(&cx.scope, None) {
        Ok(n) if n >= svc.limits.ip_groups => Conflict::Quota(over_limit.clone()),
        _ => Conflict::Exists(duplicate.clone()),
    };
    svc.write(race, |tx| {
        let n = svc.count::<IpGroup>(&cx.scope, None)?;
        if n >= svc.limits.ip_groups {
            return Err(Error::new(
                ErrorCode::ResourceLimitExceededException,
                over_limit.clone(),
            ));
        }
        let exists = svc.count::<IpGroup>(
            &cx.scope,
            Some(IndexEntry {
                name: "name".into(),
                key: group.name.clone(),
            }),
        )?;
        if exists > 0 {
            return Err(Error::new(
                ErrorCode::ResourceAlreadyExistsException,
                duplicate.clone(),
            ));
        }
        tx.put(&cx.scope, &group, Expect::Absent)?;
        // The quota is checked again in the commit.
        tx.push(Write::AtMost {
            scope: cx.scope.clone(),
            kind: IpGroup::KIND.to_string(),
            max: svc.limits.ip_groups,
        });
        Ok(())
    })?;
    Ok(ws::CreateIpGroupResult {
        group_id: Some(group.id),
    })
}

pub fn describe_ip_groups(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeIpGroupsRequest,
) -> Result<ws::DescribeIpGroupsResult, Error> {
    const OP: &str = "DescribeIpGroups";
    let limit = input.max_results.map_or(25, |n| n as usize);
    let ids = input.group_ids.unwrap_or_default();
    let filter = pagination::fingerprint(ids.iter().map(String::as_str));
    let after = pagination::after(input.next_token.as_deref(), OP, filter, || {
        invalid("The pagination token is invalid or was issued for other parameters.")
    })?;
    let mut groups = if ids.is_empty() {
        svc.scan::<IpGroup>(&cx.scope, None, after, Some(limit + 1))?
    } else {
        let mut unique: Vec<&str> = Vec::with_capacity(ids.len());
        for id in &ids {
            if !unique.contains(&id.as_str()) {
                unique.push(id);
            }
        }
        let mut found = svc.load_many::<IpGroup>(&cx.scope, &unique)?;
        found.retain(|g| after.is_none_or(|a| g.seq > a));
        found.sort_by_key(|g| g.seq);
        found.truncate(limit + 1);
        found
    };
    let next_token = if groups.len() > limit {
        groups.truncate(limit);
        groups.last().map(|g| pagination::encode(OP, filter, g.seq))
    } else {
        None
    };
    Ok(ws::DescribeIpGroupsResult {
        result: Some(groups.iter().map(|g| g.rec.to_wire()).collect()),
        next_token,
    })
}

pub fn delete_ip_group(
    svc: &Service,
    cx: &Context,
    input: ws::DeleteIpGroupRequest,
) -> Result<ws::DeleteIpGroupResult, Error> {
    svc.write(CHANGED, |tx| {
        let group = svc
            .load::<IpGroup>(&cx.scope, &input.group_id)?
            .ok_or_else(|| group_not_found(&input.group_id))?;
        let associated = svc.count::<WsDirectory>(
            &cx.scope,
            Some(IndexEntry {
                name: IP_GROUP_INDEX.into(),
                key: group.rec.id.clone(),
            }),
        )?;
        if associated > 0 {
            return Err(Error::new(
                ErrorCode::ResourceAssociatedException,
                format!(
                    "The IP access control group {} is associated with a directory. Disassociate it first.",
                    group.rec.id
                ),
            ));
        }
        tx.delete::<IpGroup>(&cx.scope, &group.rec.id, group.rev);
        Ok(())
    })?;
    Ok(ws::DeleteIpGroupResult {})
}

/// Loads a group, applies `change` to its rules and stores it.
fn modify_rules(
    svc: &Service,
    cx: &Context,
    id: &str,
    change: impl FnOnce(&mut Vec<IpRule>) -> Result<(), Error>,
) -> Result<(), Error> {
    svc.write(CHANGED, |tx| {
        let mut group = svc
            .load::<IpGroup>(&cx.scope, id)?
            .ok_or_else(|| group_not_found(id))?;
        change(&mut group.rec.rules)?;
        rule_limit(svc, group.rec.rules.len())?;
        tx.put(&cx.scope, &group.rec, Expect::Rev(group.rev))?;
        Ok(())
    })
}

pub fn authorize_ip_rules(
    svc: &Service,
    cx: &Context,
    input: ws::AuthorizeIpRulesRequest,
) -> Result<ws::AuthorizeIpRulesResult, Error> {
    modify_rules(svc, cx, &input.group_id, |rules| {
        let add = check_rules(&input.user_rules, rules)?;
        rules.extend(add);
        Ok(())
    })?;
    Ok(ws::AuthorizeIpRulesResult {})
}

pub fn revoke_ip_rules(
    svc: &Service,
    cx: &Context,
    input: ws::RevokeIpRulesRequest,
) -> Result<ws::RevokeIpRulesResult, Error> {
    if let Some(bad) = input.user_rules.iter().find(|r| !is_ipv4_cidr(r)) {
        return Err(invalid(format!(
            "The IP rule {bad} is not a valid IPv4 address or CIDR block."
        )));
    }
    modify_rules(svc, cx, &input.group_id, |rules| {
        // CIDRs that are not rules of the group are ignored (unconfirmed AWS behaviour).
        rules.retain(|r| !input.user_rules.contains(&r.rule));
        Ok(())
    })?;
    Ok(ws::RevokeIpRulesResult {})
}

pub fn update_rules_of_ip_group(
    svc: &Service,
    cx: &Context,
    input: ws::UpdateRulesOfIpGroupRequest,
) -> Result<ws::UpdateRulesOfIpGroupResult, Error> {
    let new_rules = check_rules(&input.user_rules, &[])?;
    rule_limit(svc, new_rules.len())?;
    modify_rules(svc, cx, &input.group_id, |rules| {
        *rules = new_rules;
        Ok(())
    })?;
    Ok(ws::UpdateRulesOfIpGroupResult {})
}

#[cfg(test)]
mod tests {
    use super::is_ipv4_cidr;

    #[test]
    fn cidrs() {
        for ok in ["10.0.0.0/16", "0.0.0.0/0", "192.168.1.1", "255.255.255.255/32"] {
            assert!(is_ipv4_cidr(ok), "{ok}");
        }
        for bad in [
            "",
            "10.0.0.0/33",
            "10.0.0/8",
            "10.0.0.0/",
            "a.b.c.d/8",
            "10.0.0.0/8/8",
            "::1/128",
            "10.0.0.0/+8",
            "256.0.0.0/8",
        ] {
            assert!(!is_ipv4_cidr(bad), "{bad}");
        }
    }
}
