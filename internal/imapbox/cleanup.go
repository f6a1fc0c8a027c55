package imapbox

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// Removal is how messages were removed.
type Removal int

// Removals, from the cleanest.
const (
	RemovedNone  Removal = iota // nothing to remove
	Expunged                    // UID STORE \Deleted + UID EXPUNGE of these UIDs only (UIDPLUS)
	MovedToTrash                // no UIDPLUS: UID MOVE to the SPECIAL-USE \Trash folder
	FlaggedOnly                 // neither: left flagged \Deleted, for the user's client to expunge
)

// Cleanup is what Delete did.
type Cleanup struct {
	Folder string
	UIDs   []UID
	How    Removal // RemovedNone when it failed: nothing is known removed
	Trash  string  // the folder moved to (MovedToTrash)
}

// Delete removes the messages uids of folder, and nothing else: with
// UIDPLUS it flags them \Deleted and expunges them by UID; without, it
// moves them to the \Trash folder where MOVE is offered, else leaves them
// flagged \Deleted (the Cleanup says so). It never sends a bare EXPUNGE,
// which would also remove what others flagged \Deleted.
func (b *Box) Delete(ctx context.Context, folder string, uids []UID) (*Cleanup, error) {
	c := &Cleanup{Folder: folder, UIDs: uids}
	if len(uids) == 0 {
		return c, nil
	}
	set := uidSet(uids)
	err := b.timed(ctx, PhaseCleanup, func() error {
		if err := b.selectFolder(folder, false); err != nil {
			return err
		}
		if !b.has(imap.CapUIDPlus) {
			f, err := b.specialFolders()
			if err != nil {
				return err
			}
			if b.has(imap.CapMove) && f.trash != "" && f.trash != folder {
				if _, err := b.c.Move(set, f.trash).Wait(); err != nil {
					return err
				}
				c.How, c.Trash = MovedToTrash, f.trash
				return nil
			}
		}
		store := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}
		if err := b.c.Store(set, store, nil).Close(); err != nil {
			return err
		}
		if !b.has(imap.CapUIDPlus) {
			c.How = FlaggedOnly
			return nil
		}
		// Said done only once the server answered: an UID EXPUNGE left
		// unanswered may not have removed anything.
		if err := b.c.UIDExpunge(set).Close(); err != nil {
			return err
		}
		c.How = Expunged
		return nil
	})
	if err != nil {
		return c, b.fail(ctx, PhaseCleanup, err)
	}
	return c, nil
}

func uidSet(uids []UID) imap.UIDSet {
	var s imap.UIDSet
	for _, u := range uids {
		s.AddNum(imap.UID(u))
	}
	return s
}

// MaxStale bounds the stale probes one run looks at: a mailbox that holds
// more is cleaned over several runs.
const MaxStale = 200

// StaleProbe is a probe of this instance that was never cleaned up.
type StaleProbe struct {
	UID          UID
	Token        string    // its header's value
	InternalDate time.Time // when the server stored it
}

// Stale finds in folder the probes of instance stored before before: the
// messages whose header field carries a value that starts with
// "<instance>." exactly (SEARCH HEADER matches substrings, so every
// candidate's field is fetched and checked: "other-instance.x" is not
// ours), and that nobody has flagged \Deleted (those are left alone, as
// someone else's business). Matched by header and instance, never by date
// alone; the date only tells which are old enough. With before in the
// future it lists every probe of the instance, with its token: the way to
// tell the probes of earlier runs that arrived late.
func (b *Box) Stale(ctx context.Context, folder, header, instance string, before time.Time) ([]StaleProbe, error) {
	var stale []StaleProbe
	prefix := instance + "."
	err := b.timed(ctx, PhaseCleanup, func() error {
		if err := b.selectFolder(folder, true); err != nil {
			return err
		}
		uids, err := b.search(&imap.SearchCriteria{
			Header:  []imap.SearchCriteriaHeaderField{{Key: header, Value: prefix}},
			NotFlag: []imap.Flag{imap.FlagDeleted},
		})
		if err != nil || len(uids) == 0 {
			return err
		}
		if len(uids) > MaxStale {
			uids = uids[:MaxStale]
		}
		msgs, err := b.fetchField(uids, header, true)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if slices.Contains(m.Flags, imap.FlagDeleted) || !m.InternalDate.Before(before) || len(m.BodySection) == 0 {
				continue
			}
			for _, v := range fieldValues(parseHeader(m.BodySection[0].Bytes), header) {
				if rest, ok := strings.CutPrefix(v, prefix); ok && isRandomPart(rest) {
					stale = append(stale, StaleProbe{UID: UID(m.UID), Token: v, InternalDate: m.InternalDate})
					break
				}
			}
		}
		return nil
	})
	if err != nil {
		return stale, b.fail(ctx, PhaseCleanup, err)
	}
	return stale, nil
}

// UIDs lists the stale probes' UIDs, for Delete.
func UIDs(ps []StaleProbe) []UID {
	var uids []UID
	for _, p := range ps {
		uids = append(uids, p.UID)
	}
	return uids
}

// isRandomPart reports whether s is the random part of a probe token as
// check_smtp_delivery writes it (16 bytes, unpadded URL-safe base64):
// "lab.b.<random>" is instance lab.b's probe, not lab's, and "lab.forged"
// nobody's; neither may ever be deleted as lab's.
func isRandomPart(s string) bool {
	if len(s) != 22 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}
