SELECT resource.resource_type, resource.resource_id 
FROM resource 
WHERE resource.deleted IS false AND resource.resource_type = 'Observation' AND (EXISTS (SELECT * 
FROM compartment 
WHERE compartment.patient_id = 'p1' AND compartment.resource_type = 'Observation' AND compartment.resource_id = resource.resource_id)) ORDER BY (SELECT max(index_date_1.high_us) AS max_1 
FROM index_date AS index_date_1 
WHERE index_date_1.resource_type = resource.resource_type AND index_date_1.resource_id = resource.resource_id AND index_date_1.param = 'date') DESC NULLS LAST, resource.resource_type, resource.resource_id
