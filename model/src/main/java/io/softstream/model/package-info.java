/** Softstream model module. */
package io.softstream.model;
