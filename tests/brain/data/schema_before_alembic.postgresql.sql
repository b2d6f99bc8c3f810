-- The schema that releases before Alembic made (create_all of commit 4b4c2d9), for postgresql.

-- tests/brain/test_migrations.py builds a database from it, fills it and upgrades it.

CREATE TABLE accounts (
	id SERIAL NOT NULL, 
	username VARCHAR(64) NOT NULL, 
	display_name VARCHAR(100) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	password_hash VARCHAR(200), 
	active BOOLEAN NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (username)
);

CREATE TABLE alarms (
	id VARCHAR(40) NOT NULL, 
	device_id VARCHAR(40) NOT NULL, 
	type VARCHAR(32) NOT NULL, 
	severity VARCHAR(16) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	count INTEGER NOT NULL, 
	lon FLOAT NOT NULL, 
	lat FLOAT NOT NULL, 
	place_id VARCHAR(20), 
	first_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	last_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	acknowledged_at TIMESTAMP WITH TIME ZONE, 
	acknowledged_by VARCHAR(100), 
	cleared_at TIMESTAMP WITH TIME ZONE, 
	cleared_by VARCHAR(100), 
	closed_at TIMESTAMP WITH TIME ZONE, 
	false_alarm BOOLEAN, 
	escalated_at TIMESTAMP WITH TIME ZONE, 
	case_id INTEGER, 
	rung INTEGER, 
	rung_due_at TIMESTAMP WITH TIME ZONE, 
	live_key VARCHAR(80), 
	version INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (live_key)
);

CREATE INDEX ix_alarms_device_id ON alarms (device_id);

CREATE INDEX ix_alarms_state ON alarms (state);

CREATE INDEX ix_alarms_state_last ON alarms (state, last_at);

CREATE TABLE audit_log (
	seq BIGSERIAL NOT NULL, 
	at TIMESTAMP WITH TIME ZONE NOT NULL, 
	actor VARCHAR(100) NOT NULL, 
	action VARCHAR(64) NOT NULL, 
	subject VARCHAR(100) NOT NULL, 
	source VARCHAR(100), 
	event_id VARCHAR(32), 
	detail JSON NOT NULL, 
	PRIMARY KEY (seq)
);

CREATE INDEX ix_audit_log_actor ON audit_log (actor);

CREATE INDEX ix_audit_log_at ON audit_log (at);

CREATE TABLE case_facts (
	case_id SERIAL NOT NULL, 
	reported_at FLOAT NOT NULL, 
	channel VARCHAR(32) NOT NULL, 
	category VARCHAR(16) NOT NULL, 
	priority VARCHAR(16) NOT NULL, 
	committee VARCHAR(12), 
	grid VARCHAR(20), 
	department VARCHAR(32), 
	team VARCHAR(40), 
	staff VARCHAR(40), 
	pole VARCHAR(32), 
	status VARCHAR(16) NOT NULL, 
	registered_at FLOAT, 
	dispatched_at FLOAT, 
	arrived_at FLOAT, 
	handled_at FLOAT, 
	closed_at FLOAT, 
	ever_deferred BOOLEAN NOT NULL, 
	deferred_s FLOAT NOT NULL, 
	rework INTEGER NOT NULL, 
	t_register FLOAT, 
	t_dispatch FLOAT, 
	t_arrive FLOAT, 
	t_handle FLOAT, 
	t_verify FLOAT, 
	t_close FLOAT, 
	dispatch_on_time BOOLEAN, 
	handle_due_at FLOAT, 
	handle_on_time BOOLEAN, 
	close_due_at FLOAT NOT NULL, 
	close_on_time BOOLEAN, 
	stage_due_at FLOAT, 
	satisfaction VARCHAR(24), 
	response_m FLOAT, 
	PRIMARY KEY (case_id)
);

CREATE INDEX ix_case_facts_reported ON case_facts (reported_at);

CREATE TABLE committees (
	code VARCHAR(12) NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	geometry TEXT NOT NULL, 
	PRIMARY KEY (code)
);

CREATE TABLE events (
	seq BIGSERIAL NOT NULL, 
	id VARCHAR(32) NOT NULL, 
	type VARCHAR(64) NOT NULL, 
	at TIMESTAMP WITH TIME ZONE NOT NULL, 
	actor VARCHAR(100) NOT NULL, 
	subject_type VARCHAR(32) NOT NULL, 
	subject_id VARCHAR(64) NOT NULL, 
	correlation_id VARCHAR(64), 
	payload JSON NOT NULL, 
	PRIMARY KEY (seq), 
	UNIQUE (id)
);

CREATE INDEX ix_events_subject ON events (subject_type, subject_id, seq);

CREATE INDEX ix_events_type_at ON events (type, at);

CREATE TABLE ingest_messages (
	id VARCHAR(80) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_ingest_messages_at ON ingest_messages (at);

CREATE TABLE ingest_rejects (
	seq BIGSERIAL NOT NULL, 
	at TIMESTAMP WITH TIME ZONE NOT NULL, 
	source VARCHAR(120) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	reason VARCHAR(40) NOT NULL, 
	detail TEXT NOT NULL, 
	excerpt TEXT NOT NULL, 
	PRIMARY KEY (seq)
);

CREATE INDEX ix_ingest_rejects_at ON ingest_rejects (at);

CREATE TABLE places (
	id VARCHAR(20) NOT NULL, 
	kind VARCHAR(20) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	parent_id VARCHAR(20), 
	committee_code VARCHAR(12), 
	floors INTEGER, 
	address VARCHAR(200), 
	occupant VARCHAR(100), 
	phone VARCHAR(32), 
	age INTEGER, 
	living_alone BOOLEAN NOT NULL, 
	lon FLOAT NOT NULL, 
	lat FLOAT NOT NULL, 
	geometry TEXT NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_places_committee_code ON places (committee_code);

CREATE INDEX ix_places_kind ON places (kind);

CREATE INDEX ix_places_parent_id ON places (parent_id);

CREATE TABLE poles (
	number VARCHAR(32) NOT NULL, 
	code VARCHAR(16) NOT NULL, 
	kind VARCHAR(20), 
	road VARCHAR(100), 
	grid_code VARCHAR(20), 
	committee_code VARCHAR(12), 
	lon FLOAT NOT NULL, 
	lat FLOAT NOT NULL, 
	PRIMARY KEY (number), 
	UNIQUE (code)
);

CREATE INDEX ix_poles_committee_code ON poles (committee_code);

CREATE INDEX ix_poles_grid_code ON poles (grid_code);

CREATE TABLE roads (
	id VARCHAR(20) NOT NULL, 
	name VARCHAR(100), 
	road_class VARCHAR(20) NOT NULL, 
	from_node VARCHAR(20) NOT NULL, 
	to_node VARCHAR(20) NOT NULL, 
	length_m FLOAT NOT NULL, 
	geometry TEXT NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_roads_from_node ON roads (from_node);

CREATE INDEX ix_roads_to_node ON roads (to_node);

CREATE TABLE schema_info (
	id SERIAL NOT NULL, 
	version INTEGER NOT NULL, 
	migrated_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id)
);

CREATE TABLE staff_track (
	seq BIGSERIAL NOT NULL, 
	staff_id VARCHAR(20) NOT NULL, 
	at TIMESTAMP WITH TIME ZONE NOT NULL, 
	lon FLOAT NOT NULL, 
	lat FLOAT NOT NULL, 
	speed FLOAT, 
	extra JSON, 
	PRIMARY KEY (seq)
);

CREATE INDEX ix_staff_track_staff_at ON staff_track (staff_id, at);

CREATE TABLE teams (
	id VARCHAR(20) NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	department VARCHAR(32) NOT NULL, 
	department_name VARCHAR(100) NOT NULL, 
	duties JSON NOT NULL, 
	mode VARCHAR(16) NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_teams_department ON teams (department);

CREATE TABLE api_tokens (
	id SERIAL NOT NULL, 
	account_id INTEGER NOT NULL, 
	name VARCHAR(64) NOT NULL, 
	prefix VARCHAR(16) NOT NULL, 
	token_hash VARCHAR(64) NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	last_used_at TIMESTAMP WITH TIME ZONE, 
	revoked_at TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (id), 
	FOREIGN KEY(account_id) REFERENCES accounts (id), 
	UNIQUE (token_hash)
);

CREATE INDEX ix_api_tokens_account_id ON api_tokens (account_id);

CREATE TABLE devices (
	id VARCHAR(40) NOT NULL, 
	type VARCHAR(20) NOT NULL, 
	place_id VARCHAR(20), 
	heartbeat_s INTEGER NOT NULL, 
	lon FLOAT NOT NULL, 
	lat FLOAT NOT NULL, 
	online BOOLEAN NOT NULL, 
	maintenance BOOLEAN NOT NULL, 
	last_seen_at TIMESTAMP WITH TIME ZONE, 
	last_activity_at TIMESTAMP WITH TIME ZONE, 
	extra JSON, 
	PRIMARY KEY (id), 
	FOREIGN KEY(place_id) REFERENCES places (id)
);

CREATE INDEX ix_devices_place_id ON devices (place_id);

CREATE INDEX ix_devices_type ON devices (type);

CREATE TABLE grid_cells (
	code VARCHAR(20) NOT NULL, 
	committee_code VARCHAR(12), 
	geometry TEXT NOT NULL, 
	PRIMARY KEY (code), 
	FOREIGN KEY(committee_code) REFERENCES committees (code)
);

CREATE INDEX ix_grid_cells_committee_code ON grid_cells (committee_code);

CREATE TABLE staff (
	id VARCHAR(20) NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	team_id VARCHAR(20) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	phone VARCHAR(32), 
	mode VARCHAR(16) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	report_interval_s INTEGER NOT NULL, 
	lon FLOAT, 
	lat FLOAT, 
	position_at TIMESTAMP WITH TIME ZONE, 
	version INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(team_id) REFERENCES teams (id)
);

CREATE INDEX ix_staff_status ON staff (status);

CREATE INDEX ix_staff_team_id ON staff (team_id);

CREATE TABLE web_sessions (
	id_hash VARCHAR(64) NOT NULL, 
	account_id INTEGER NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	expires_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	source VARCHAR(100), 
	revoked BOOLEAN NOT NULL, 
	PRIMARY KEY (id_hash), 
	FOREIGN KEY(account_id) REFERENCES accounts (id)
);

CREATE INDEX ix_web_sessions_account_id ON web_sessions (account_id);

CREATE TABLE cases (
	id SERIAL NOT NULL, 
	channel VARCHAR(32) NOT NULL, 
	category VARCHAR(16) NOT NULL, 
	priority VARCHAR(16) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	description TEXT NOT NULL, 
	lon FLOAT NOT NULL, 
	lat FLOAT NOT NULL, 
	pole_number VARCHAR(32), 
	grid_code VARCHAR(20), 
	committee_code VARCHAR(12), 
	department VARCHAR(32), 
	device_id VARCHAR(40), 
	reporter_name VARCHAR(100), 
	reporter_phone VARCHAR(32), 
	assigned_team_id VARCHAR(20), 
	assigned_staff_id VARCHAR(20), 
	parent_id INTEGER, 
	rework_count INTEGER NOT NULL, 
	deferred_from VARCHAR(16), 
	deferred_seconds FLOAT NOT NULL, 
	note TEXT, 
	reply TEXT, 
	photo_ref VARCHAR(200), 
	version INTEGER NOT NULL, 
	reported_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	registered_at TIMESTAMP WITH TIME ZONE, 
	dispatched_at TIMESTAMP WITH TIME ZONE, 
	arrived_at TIMESTAMP WITH TIME ZONE, 
	handled_at TIMESTAMP WITH TIME ZONE, 
	verified_at TIMESTAMP WITH TIME ZONE, 
	closed_at TIMESTAMP WITH TIME ZONE, 
	deferred_at TIMESTAMP WITH TIME ZONE, 
	cancelled_at TIMESTAMP WITH TIME ZONE, 
	stage_started_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(assigned_team_id) REFERENCES teams (id), 
	FOREIGN KEY(assigned_staff_id) REFERENCES staff (id), 
	FOREIGN KEY(parent_id) REFERENCES cases (id)
);

CREATE INDEX ix_cases_category ON cases (category);

CREATE INDEX ix_cases_channel ON cases (channel);

CREATE INDEX ix_cases_committee_code ON cases (committee_code);

CREATE INDEX ix_cases_grid_code ON cases (grid_code);

CREATE INDEX ix_cases_pole_number ON cases (pole_number);

CREATE INDEX ix_cases_status ON cases (status);

CREATE INDEX ix_cases_status_reported ON cases (status, reported_at);
