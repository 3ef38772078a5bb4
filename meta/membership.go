package meta

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/hashicorp/raft"
)

// MaxVoters is the most voters AddMember puts in the Raft configuration;
// later members join as non-voters, which receive the whole log and serve
// reads but neither vote nor count toward a commit.
//
// Five, because a write commits once a majority of voters has it: every
// voter added raises the quorum, so the slowest member of a larger
// majority sets the pace of each write and the leader sends more. Five
// voters keep a quorum of three and survive two failures; seven would
// survive three, with a quorum of four on every write. Non-voters hold a
// full copy anyway, and RemoveMember promotes one when a voter leaves, so
// the cluster returns to five voters without an operator.
const MaxVoters = 5

// Member is one server of the Raft configuration.
type Member struct {
	ID NodeID
	// Address is the server's Raft transport address.
	Address string
	// Voter reports whether the server votes and counts toward commits.
	Voter bool
	// Leader reports whether the server is the leader this node knows.
	Leader bool
}

// Members returns the servers of this node's latest Raft configuration,
// sorted by id. On a follower it may lag the leader's by a change that is
// still in flight. Errors: ErrTimeout, ErrClosed.
func (s *Store) Members(ctx context.Context) ([]Member, error) {
	conf, err := s.configuration(ctx)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	leader, _ := s.Leader()
	out := make([]Member, 0, len(conf.Servers))
	for _, srv := range conf.Servers {
		out = append(out, Member{
			ID:      NodeID(srv.ID),
			Address: string(srv.Address),
			Voter:   srv.Suffrage == raft.Voter,
			Leader:  NodeID(srv.ID) == leader,
		})
	}
	slices.SortFunc(out, func(a, b Member) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// AddMember adds server id, reached at raftAddr, to the Raft
// configuration. It must run on the leader. A server already present at
// the same address is left alone; one present at another address keeps
// its suffrage and gets the new address. A new server is a voter while
// the configuration has fewer than MaxVoters voters, a non-voter after.
// It returns once the change is committed; the new server then catches up
// on its own. Errors: ErrInvalid (empty id or address), ErrNotLeader,
// ErrTimeout, ErrClosed.
func (s *Store) AddMember(ctx context.Context, id NodeID, raftAddr string) error {
	if err := validateMember(id, raftAddr, true); err != nil {
		return fmt.Errorf("add member %s: %w", id, err)
	}
	s.memberMu.Lock()
	defer s.memberMu.Unlock()

	conf, err := s.leaderConfiguration(ctx)
	if err != nil {
		return fmt.Errorf("add member %s: %w", id, err)
	}
	voter, same := suffrageFor(conf, id, raftAddr)
	if same {
		return nil
	}
	if err := s.addServer(ctx, id, raftAddr, voter); err != nil {
		return fmt.Errorf("add member %s: %w", id, err)
	}
	s.logger.Info("raft member added",
		"peer", string(id),
		"peer_addr", raftAddr,
		"voter", voter)
	return nil
}

// RemoveMember removes server id from the Raft configuration; removing a
// server that is not there changes nothing. It must run on the leader.
// When fewer than MaxVoters voters remain and non-voters exist, it
// promotes non-voters, lowest id first, back up to MaxVoters. When the
// leader removes itself it promotes first, since it stops leading once
// its removal commits; a new leader is then elected among the voters.
// Errors: ErrInvalid (empty id), ErrNotLeader, ErrTimeout, ErrClosed.
func (s *Store) RemoveMember(ctx context.Context, id NodeID) error {
	if err := validateMember(id, "", false); err != nil {
		return fmt.Errorf("remove member %s: %w", id, err)
	}
	s.memberMu.Lock()
	defer s.memberMu.Unlock()

	conf, err := s.leaderConfiguration(ctx)
	if err != nil {
		return fmt.Errorf("remove member %s: %w", id, err)
	}
	if !slices.ContainsFunc(conf.Servers, func(srv raft.Server) bool {
		return srv.ID == raft.ServerID(id)
	}) {
		return s.fillVoters(ctx, "")
	}

	self := id == s.cfg.NodeID
	if self {
		if err := s.fillVoters(ctx, id); err != nil {
			return err
		}
	}
	if err := s.removeServer(ctx, id); err != nil {
		return fmt.Errorf("remove member %s: %w", id, err)
	}
	s.logger.Info("raft member removed", "peer", string(id))
	if self {
		return nil
	}
	return s.fillVoters(ctx, "")
}

// fillVoters promotes non-voters, lowest id first, until the
// configuration has MaxVoters voters or no non-voter is left. A voter
// named leaving is not counted: it is about to be removed.
func (s *Store) fillVoters(ctx context.Context, leaving NodeID) error {
	conf, err := s.leaderConfiguration(ctx)
	if err != nil {
		return fmt.Errorf("promote members: %w", err)
	}
	voters := 0
	var waiting []raft.Server
	for _, srv := range conf.Servers {
		switch {
		case srv.ID == raft.ServerID(leaving):
		case srv.Suffrage == raft.Voter:
			voters++
		case srv.Suffrage == raft.Nonvoter:
			waiting = append(waiting, srv)
		}
	}
	slices.SortFunc(waiting, func(a, b raft.Server) int { return cmp.Compare(a.ID, b.ID) })

	for _, srv := range waiting[:min(len(waiting), max(0, MaxVoters-voters))] {
		id := NodeID(srv.ID)
		if err := s.addServer(ctx, id, string(srv.Address), true); err != nil {
			return fmt.Errorf("promote member %s: %w", id, err)
		}
		s.logger.Info("raft member promoted to voter", "peer", string(id))
	}
	return nil
}

// suffrageFor decides how id joins conf: the suffrage it keeps if
// present, else voter while conf has fewer than MaxVoters voters. same
// reports that id is already present at addr.
func suffrageFor(conf raft.Configuration, id NodeID, addr string) (voter, same bool) {
	voters := 0
	for _, srv := range conf.Servers {
		if srv.ID == raft.ServerID(id) {
			return srv.Suffrage == raft.Voter, string(srv.Address) == addr
		}
		if srv.Suffrage == raft.Voter {
			voters++
		}
	}
	return voters < MaxVoters, false
}

// addServer adds id as a voter or a non-voter and waits for the change
// to commit. For a present server Raft keeps a voter a voter and updates
// the address, and AddVoter promotes a non-voter.
func (s *Store) addServer(ctx context.Context, id NodeID, addr string, voter bool) error {
	timeout, err := s.enqueueTimeout(ctx)
	if err != nil {
		return err
	}
	sid, saddr := raft.ServerID(id), raft.ServerAddress(addr)
	var f raft.IndexFuture
	if voter {
		f = s.raft.AddVoter(sid, saddr, 0, timeout)
	} else {
		f = s.raft.AddNonvoter(sid, saddr, 0, timeout)
	}
	if err := s.await(ctx, f); err != nil {
		return mapRaftError(err)
	}
	return nil
}

func (s *Store) removeServer(ctx context.Context, id NodeID) error {
	timeout, err := s.enqueueTimeout(ctx)
	if err != nil {
		return err
	}
	if err := s.await(ctx, s.raft.RemoveServer(raft.ServerID(id), 0, timeout)); err != nil {
		return mapRaftError(err)
	}
	return nil
}

// leaderConfiguration returns the latest configuration, refusing on a
// node that does not lead: only the leader's is the one changes apply to.
func (s *Store) leaderConfiguration(ctx context.Context) (raft.Configuration, error) {
	if !s.IsLeader() {
		return raft.Configuration{}, ErrNotLeader
	}
	return s.configuration(ctx)
}

// configuration returns this node's latest Raft configuration, committed
// or not.
func (s *Store) configuration(ctx context.Context) (raft.Configuration, error) {
	if err := s.checkOpen(); err != nil {
		return raft.Configuration{}, err
	}
	f := s.raft.GetConfiguration()
	if err := s.await(ctx, f); err != nil {
		return raft.Configuration{}, mapRaftError(err)
	}
	return f.Configuration(), nil
}

// validateMember checks a member id and, when required, its address.
// Errors wrap ErrInvalid.
func validateMember(id NodeID, addr string, needAddr bool) error {
	err := validateText("node id", string(id), maxNodeIDLen, true)
	if err == nil {
		err = validateText("raft address", addr, maxAddrLen, needAddr)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}
