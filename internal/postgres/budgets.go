package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/octomesh/octomesh"
)

func errBudgetNotFound() error { return octomesh.Errorf(octomesh.ENOTFOUND, "budget not found") }

const budgetCols = `id, org_id, name, scope, subject, period, limit_cost, hard, alert_percent, created_at, updated_at`

func scanBudget(s scanner) (*octomesh.Budget, error) {
	var b octomesh.Budget
	var scope, period string
	var limit, created, updated int64
	if err := s.Scan(&b.ID, &b.OrgID, &b.Name, &scope, &b.Subject, &period, &limit, &b.Hard, &b.AlertPercent, &created, &updated); err != nil {
		return nil, err
	}
	b.Scope, b.Period, b.Limit = octomesh.BudgetScope(scope), octomesh.BudgetPeriod(period), octomesh.Money(limit)
	b.CreatedAt, b.UpdatedAt = fromNanos(created), fromNanos(updated)
	return &b, nil
}

func defaultAlert(b *octomesh.Budget) {
	if b.AlertPercent == 0 {
		b.AlertPercent = octomesh.DefaultAlertPercent
	}
}

// CreateBudget stores b, audited.
func (d *DB) CreateBudget(ctx context.Context, b *octomesh.Budget) error {
	if err := b.Validate(); err != nil {
		return err
	}
	defaultAlert(b)
	return d.write(ctx, func(w *writeTx) error {
		var n int
		if err := w.queryRow(`SELECT COUNT(*) FROM orgs WHERE id = $1`, b.OrgID).Scan(&n); err != nil {
			return fmt.Errorf("create budget: %w", err)
		}
		if n == 0 {
			return octomesh.ErrOrgNotFound()
		}
		if _, err := w.exec(`INSERT INTO budgets (`+budgetCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			b.ID, b.OrgID, b.Name, string(b.Scope), b.Subject, string(b.Period), int64(b.Limit), b.Hard, b.AlertPercent,
			nanos(w.now), nanos(w.now)); err != nil {
			if isUnique(err) {
				return octomesh.Errorf(octomesh.EINVALID, "a budget with this id already exists").WithParam("id")
			}
			return fmt.Errorf("create budget: %w", err)
		}
		b.CreatedAt, b.UpdatedAt = w.now, w.now
		details := map[string]string{"scope": string(b.Scope), "period": string(b.Period), "hard": strconv.FormatBool(b.Hard)}
		if b.Subject != "" {
			details["subject"] = b.Subject
		}
		return w.audit(&octomesh.AuditEntry{OrgID: b.OrgID, Action: octomesh.AuditBudgetCreated, Target: b.ID, Details: details})
	})
}

// UpdateBudget replaces a budget's name, limit, hardness and alert
// threshold, audited by field name; b gets the stored budget.
func (d *DB) UpdateBudget(ctx context.Context, b *octomesh.Budget) error {
	return d.write(ctx, func(w *writeTx) error {
		old, err := scanBudget(w.queryRow(`SELECT `+budgetCols+` FROM budgets WHERE org_id = $1 AND id = $2`, b.OrgID, b.ID))
		if noRows(err) {
			return errBudgetNotFound()
		}
		if err != nil {
			return fmt.Errorf("update budget: %w", err)
		}
		next := *old
		next.Name, next.Limit, next.Hard, next.AlertPercent = b.Name, b.Limit, b.Hard, b.AlertPercent
		if err := next.Validate(); err != nil {
			return err
		}
		defaultAlert(&next)
		changed := octomesh.BudgetChanges(old, &next)
		if len(changed) == 0 {
			*b = next
			return nil
		}
		if _, err := w.exec(`UPDATE budgets SET name = $1, limit_cost = $2, hard = $3, alert_percent = $4, updated_at = $5 WHERE id = $6`,
			next.Name, int64(next.Limit), next.Hard, next.AlertPercent, nanos(w.now), next.ID); err != nil {
			return fmt.Errorf("update budget: %w", err)
		}
		next.UpdatedAt = w.now
		*b = next
		return w.audit(&octomesh.AuditEntry{OrgID: b.OrgID, Action: octomesh.AuditBudgetUpdated, Target: b.ID,
			Details: map[string]string{"fields": strings.Join(changed, ",")}})
	})
}

// DeleteBudget removes a budget of orgID, audited.
func (d *DB) DeleteBudget(ctx context.Context, orgID, id string) error {
	return d.write(ctx, func(w *writeTx) error {
		tag, err := w.exec(`DELETE FROM budgets WHERE org_id = $1 AND id = $2`, orgID, id)
		if err != nil {
			return fmt.Errorf("delete budget: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return errBudgetNotFound()
		}
		return w.audit(&octomesh.AuditEntry{OrgID: orgID, Action: octomesh.AuditBudgetDeleted, Target: id})
	})
}

// Budget returns one budget of orgID, or ENOTFOUND.
func (d *DB) Budget(ctx context.Context, orgID, id string) (*octomesh.Budget, error) {
	b, err := scanBudget(d.queryRow(ctx, `SELECT `+budgetCols+` FROM budgets WHERE org_id = $1 AND id = $2`, orgID, id))
	if noRows(err) {
		return nil, errBudgetNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get budget: %w", err)
	}
	return b, nil
}

// Budgets lists orgID's budgets ("" for every organisation's) by ID.
func (d *DB) Budgets(ctx context.Context, orgID string) ([]*octomesh.Budget, error) {
	rows, err := d.query(ctx, `SELECT `+budgetCols+` FROM budgets WHERE $1::text = '' OR org_id = $2 ORDER BY id COLLATE "C"`, orgID, orgID)
	if err != nil {
		return nil, fmt.Errorf("list budgets: %w", err)
	}
	defer rows.Close()
	out := []*octomesh.Budget{}
	for rows.Next() {
		b, err := scanBudget(rows)
		if err != nil {
			return nil, fmt.Errorf("list budgets: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
