-- A client's own SLA targets, per priority, in business seconds (`client sla`).
CREATE TABLE client_sla (
    client_id BIGINT NOT NULL REFERENCES clients (id),
    priority TEXT NOT NULL,
    first_response_s BIGINT NOT NULL,
    resolution_s BIGINT NOT NULL,
    set_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, priority)
);
